//! Shards: their slices, their numbers, their checksum, and every way a set of shards is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

#[test]
fn slices_cover_the_images_once_in_order() {
    for images in [0usize, 1, 5, 10, 11, 1000] {
        for count in 1..=7 {
            let mut next = 0;
            for i in 0..count {
                let r = slice(i, count, images);
                assert_eq!(r.start, next, "{images} {count} {i}");
                assert!(r.len() <= images / count + 1);
                next = r.end;
            }
            assert_eq!(next, images);
        }
    }
    assert_eq!(slice(0, 3, 10), 0..4);
    assert_eq!(slice(1, 3, 10), 4..7);
    assert_eq!(slice(2, 3, 10), 7..10);
}

#[test]
fn shard_numbers_are_checked() {
    assert_eq!(parse_shard("0/1"), Ok((0, 1)));
    assert_eq!(parse_shard("2/3"), Ok((2, 3)));
    assert_eq!(
        parse_shard("3/3").unwrap_err(),
        "'3/3': shards are numbered 0 to 2"
    );
    assert_eq!(
        parse_shard("0/0").unwrap_err(),
        "'0/0': the count must be 1 to 1,000,000"
    );
    assert!(parse_shard("1").unwrap_err().contains("is not I/N"));
    assert!(
        parse_shard("a/2")
            .unwrap_err()
            .contains("'a' is not a whole number")
    );
}

fn shard(index: usize, count: usize, images: usize) -> Shard {
    let r = slice(index, count, images);
    Shard {
        format: SHARD_FORMAT.into(),
        index,
        count,
        images,
        first_image: r.start,
        config_digest: 7,
        early_exit: false,
        golden_model: None,
        sources: Sources {
            config: "c".into(),
            config_target: "t".into(),
            target: "t".into(),
            target_file: "t.json".into(),
            data: "d".into(),
        },
        records: Vec::new(),
        firing: vec![vec![0; 2]],
        timing: Timing {
            threads: 1,
            wall_seconds: 1.0,
            inferences_per_second: 0.0,
            synaptic_ops_per_second: 0.0,
        },
        checksum: 0,
    }
    .sealed()
}

#[test]
fn shards_of_other_runs_or_missing_ones_are_refused_by_name() {
    // Empty record lists: the slice check names the first shard that holds none.
    let err = merge(vec![shard(0, 2, 0), shard(1, 2, 0)]);
    assert!(err.is_ok(), "{err:?}");
    let mut other = shard(1, 2, 0);
    other.config_digest = 8;
    assert_eq!(
        merge(vec![shard(0, 2, 0), other.clone()])
            .unwrap_err()
            .to_string(),
        "shard 1: its contents do not match its checksum (62680a8a1113d20d, written \
         7aac90f9473b00d6): it was edited or damaged after `ttfs run --shard` wrote it"
    );
    assert_eq!(
        merge(vec![shard(0, 2, 0), other.sealed()])
            .unwrap_err()
            .to_string(),
        "shard 1 of 2 is from another run than shard 0: its configuration differs"
    );
    assert_eq!(
        merge(vec![shard(0, 3, 0), shard(0, 3, 0)])
            .unwrap_err()
            .to_string(),
        "shards of 3: missing 1, 2; given twice: 0"
    );
    assert_eq!(
        merge(vec![shard(0, 2, 4), shard(1, 2, 4)])
            .unwrap_err()
            .to_string(),
        "shard 0 of 2 holds images 0..0, but its slice is 0..2"
    );
    assert_eq!(merge(Vec::new()).unwrap_err(), ShardError::Empty);
}
