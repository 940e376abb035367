//! CPU per Jetstream message on the Bluesky source's hot path, without a network: classify the
//! message (JSON), match the post's text and hashtags against the keywords, and for a match
//! encode its Kinesis record. On Bluesky this runs for every post of the network, matching or
//! not, so the non-matching figure is what the producer's CPU is made of.

#![allow(clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use twitter_producer::keyword::Keyword;
use twitter_producer::source::bluesky::decode::{self, Event};
use twitter_producer::source::bluesky::matcher::{Matcher, Tokens};

use testkit::fixtures::jetstream_events as events;

/// What `wantedCollections=app.bsky.feed.post` delivers: post events (identity and account
/// events are rare beside them).
fn posts() -> Vec<&'static str> {
    events()
        .into_iter()
        .filter(|l| matches!(decode::classify(l), Ok(Event::PostCreate(_))))
        .collect()
}

fn matcher(words: &[&str]) -> Matcher {
    Matcher::new(
        words
            .iter()
            .map(|w| Keyword::parse(w).expect("keyword"))
            .collect(),
    )
    .expect("keywords")
}

/// Classifies, matches, and encodes the record of a match; returns bytes encoded so nothing is
/// optimised away.
fn process(messages: &[&str], matcher: &Matcher, tokens: &mut Tokens) -> usize {
    let mut bytes = 0;
    for message in messages {
        let Ok(Event::PostCreate(post)) = decode::classify(message) else {
            continue;
        };
        let hashtags: Vec<&str> = post.hashtags.iter().map(AsRef::as_ref).collect();
        let matched = matcher.matching(&post.text, &hashtags, tokens);
        if matched.is_empty() {
            continue;
        }
        let uri = post.uri();
        let header = twitter_record::Header {
            source: twitter_record::Source::Bluesky,
            id: &uri,
            keywords: &matched,
            received_at: time::OffsetDateTime::now_utc(),
        };
        bytes += twitter_record::encode(&header, post.json).len();
    }
    bytes
}

fn per_message(c: &mut Criterion) {
    let posts = posts();
    let all = events();
    let none = matcher(&["zyzzyva", "quokka lagoon", "#nosuchtag"]);
    let some = matcher(&["tokio", "crab", "#IndieRebellion"]);
    let mut group = c.benchmark_group("jetstream");
    group.throughput(Throughput::Elements(posts.len() as u64));
    group.bench_function("post_decode_only", |b| {
        b.iter(|| {
            posts
                .iter()
                .filter(|m| matches!(decode::classify(m), Ok(Event::PostCreate(_))))
                .count()
        });
    });
    group.bench_function("post_no_keyword_matches", |b| {
        b.iter_batched_ref(
            Tokens::default,
            |tokens| process(&posts, &none, tokens),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("post_most_match_and_encode", |b| {
        b.iter_batched_ref(
            Tokens::default,
            |tokens| process(&posts, &some, tokens),
            BatchSize::SmallInput,
        );
    });
    group.throughput(Throughput::Elements(all.len() as u64));
    group.bench_function("unfiltered_firehose_mix", |b| {
        b.iter_batched_ref(
            Tokens::default,
            |tokens| process(&all, &some, tokens),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

criterion_group!(benches, per_message);
criterion_main!(benches);
