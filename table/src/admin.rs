//! Creating the table, for tests, the offline demo and seeding (the `admin` feature). Production
//! tables come from the CloudFormation template.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::TableStatus;

use crate::error::TableError;
use crate::schema::{TableDefinition, table_definition};

/// How often [`create_table`] asks whether the new table is active, and how long between asks.
const ACTIVE_POLLS: u32 = 200;
const ACTIVE_POLL_INTERVAL: Duration = Duration::from_millis(50);

impl TableDefinition {
    /// A CreateTable request for this definition, ready to send.
    pub fn create_table(&self, client: &Client) -> CreateTableFluentBuilder {
        client
            .create_table()
            .table_name(&self.table_name)
            .set_attribute_definitions(Some(self.attribute_definitions.clone()))
            .set_key_schema(Some(self.key_schema.clone()))
            .set_global_secondary_indexes(Some(self.global_secondary_indexes.clone()))
            .billing_mode(self.billing_mode.clone())
    }
}

/// Creates the table, waits until it is active, and enables TTL.
pub async fn create_table(client: &Client, table_name: &str) -> Result<(), TableError> {
    let definition = table_definition(table_name);
    definition
        .create_table(client)
        .send()
        .await
        .map_err(|e| aws_error("CreateTable", e))?;
    for _ in 0..ACTIVE_POLLS {
        let described = client
            .describe_table()
            .table_name(table_name)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTable", e))?;
        if described.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
            client
                .update_time_to_live()
                .table_name(table_name)
                .time_to_live_specification(definition.time_to_live.clone())
                .send()
                .await
                .map_err(|e| aws_error("UpdateTimeToLive", e))?;
            return Ok(());
        }
        tokio::time::sleep(ACTIVE_POLL_INTERVAL).await;
    }
    Err(TableError::NotActive(table_name.to_owned()))
}

fn aws_error<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    TableError::Aws {
        operation,
        aws: Box::new(twitter_errors::aws::describe_for("dynamodb", &error)),
    }
}
