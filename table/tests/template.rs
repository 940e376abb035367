//! The CloudFormation template's table is the table `schema.rs` defines: keys, index, projection
//! and TTL come from that one definition, and this test fails when the two drift apart.
//!
//! The template is read with cfn-lint's own CloudFormation YAML loader (cfn-lint is installed by
//! the test command), so short-form intrinsics like `!Sub` parse as CloudFormation reads them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use twitter_table::schema;

const TEMPLATE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../cloudformation/template.yaml"
);

/// Properties the template adds that are deployment choices rather than the table's shape.
const DEPLOYMENT_ONLY: &[&str] = &[
    "TableName",
    "PointInTimeRecoverySpecification",
    "SSESpecification",
];

fn template() -> serde_json::Value {
    let output = Command::new("python3")
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import decode\ntemplate, errors = decode(sys.argv[1])\nif errors: sys.exit(str(errors))\njson.dump(template, sys.stdout)",
            TEMPLATE,
        ])
        .output()
        .expect("python3 runs (scripts/test.sh installs cfn-lint)");
    assert!(
        output.status.success(),
        "cannot load the template: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the loader prints JSON")
}

#[test]
fn the_template_table_is_the_schema_table() {
    let template = template();
    let mut properties = template["Resources"]["EventDataTable"]["Properties"].clone();
    let object = properties.as_object_mut().expect("table properties");
    for key in DEPLOYMENT_ONLY {
        object.remove(*key);
    }
    let expected = schema::table_definition("EventData").cloudformation_properties();
    assert_eq!(properties, expected);
}

#[test]
fn the_function_is_given_the_table_it_writes() {
    let template = template();
    let variables =
        &template["Resources"]["ConsumerFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(
        variables["TABLE_NAME"],
        serde_json::json!({"Ref": "EventDataTable"})
    );
    assert!(
        variables.get("DEAD_LETTER_QUEUE_URL").is_some(),
        "{variables}"
    );
}
