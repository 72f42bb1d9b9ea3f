//! The configuration file's round trip, and one test per way a file can be malformed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;

use super::super::test_configs::sample;
use super::*;

/// A file from a header and payload bytes, framed as `encode` frames them.
fn assemble(header: &Header, payload: &[u8]) -> Vec<u8> {
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&CONFIG_VERSION.to_le_bytes());
    bytes.extend(postcard::to_stdvec(header).unwrap());
    bytes.extend_from_slice(payload);
    bytes
}

/// A correct header for `payload`, as for the sample's target.
fn header_for(payload: &[u8]) -> Header {
    let config = sample();
    Header {
        target_name: config.target_name,
        target_hash: config.target_hash,
        payload_len: payload.len() as u64,
        payload_checksum: Fnv1a64::hash_bytes(payload),
    }
}

/// A well-framed file around `payload` (correct length and checksum).
fn framed(payload: &[u8]) -> Vec<u8> {
    assemble(&header_for(payload), payload)
}

#[test]
fn encode_then_decode_is_the_identity() {
    let config = sample();
    assert_eq!(decode(&encode(&config).unwrap()).unwrap(), config);
}

#[test]
fn encode_is_deterministic() {
    assert_eq!(encode(&sample()).unwrap(), encode(&sample()).unwrap());
}

#[test]
fn the_layout_is_the_documented_one() {
    let config = sample();
    let bytes = encode(&config).unwrap();
    assert_eq!(&bytes[..8], b"TTFSCHIP");
    assert_eq!(&bytes[8..12], &[4, 0, 0, 0]);
    let (version, header) = read_header(&bytes).unwrap();
    assert_eq!(version, CONFIG_VERSION);
    let payload = postcard::to_stdvec(&config).unwrap();
    assert_eq!(header, header_for(&payload));
    assert!(bytes.ends_with(&payload));
    assert_eq!(bytes, framed(&payload));
}

#[test]
fn encode_refuses_an_invalid_configuration() {
    let mut config = sample();
    config.time_steps = 0;
    assert!(matches!(encode(&config), Err(ConfigError::Invalid { .. })));
}

#[test]
fn write_then_read_round_trips_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.ttfschip");
    let config = sample();
    write(&path, &config).unwrap();
    assert_eq!(read(&path).unwrap(), config);
    // A second write replaces the file.
    let mut other = sample();
    other.time_steps = 3;
    write(&path, &other).unwrap();
    assert_eq!(read(&path).unwrap(), other);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["net.ttfschip"]);
}

#[test]
fn every_cut_is_an_error() {
    let bytes = encode(&sample()).unwrap();
    let len = bytes.len() as u64;
    let header_end = bytes.len() - postcard::to_stdvec(&sample()).unwrap().len();
    for cut in 0..bytes.len() {
        let e = decode(&bytes[..cut]).unwrap_err();
        let found = cut as u64;
        match e {
            ConfigError::Truncated { needed, found: f } if f == found => {
                if cut < PREFIX_LEN {
                    assert_eq!(needed, PREFIX_LEN as u64, "cut {cut}");
                } else if cut >= header_end {
                    assert_eq!(needed, len, "cut {cut}");
                } else {
                    assert!(needed > found, "cut {cut}");
                }
            }
            other => panic!("cut {cut}: expected Truncated, got {other:?}"),
        }
    }
    assert_eq!(
        decode(&bytes[..100]).unwrap_err().to_string(),
        format!("the file is truncated: it has 100 bytes, but at least {len} are needed")
    );
}

#[test]
fn a_flipped_payload_byte_fails_the_checksum() {
    let mut bytes = encode(&sample()).unwrap();
    let last = bytes.len() - 1;
    bytes[last - 10] ^= 0x40;
    let e = decode(&bytes).unwrap_err();
    assert!(matches!(e, ConfigError::ChecksumMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("so the file is corrupt"), "{e}");
}

#[test]
fn every_single_byte_corruption_is_an_error() {
    let bytes = encode(&sample()).unwrap();
    for at in 0..bytes.len() {
        for flip in 1..=255u8 {
            let mut bad = bytes.clone();
            bad[at] ^= flip;
            assert!(
                decode(&bad).is_err(),
                "byte {at} xor {flip:#04x} was accepted"
            );
        }
    }
}

#[test]
fn bad_magic() {
    let mut bytes = encode(&sample()).unwrap();
    bytes[0] = b'X';
    let e = decode(&bytes).unwrap_err();
    assert!(matches!(e, ConfigError::NotAConfig), "{e:?}");
    assert_eq!(
        e.to_string(),
        "not a ttfs chip configuration (bad magic bytes)"
    );
    // A short file of another kind is not "truncated".
    assert!(matches!(decode(b"{}\n"), Err(ConfigError::NotAConfig)));
    assert!(matches!(
        read_header(b"PK\x03\x04"),
        Err(ConfigError::NotAConfig)
    ));
}

#[test]
fn another_version_is_refused_as_such() {
    // Version 1 (before configurations recorded their model), 2 (before they recorded
    // their pool lowering), 3 (before the nonzero-weight ANN MACs) and a future version 5.
    for version in [1u8, 2, 3, 5] {
        let mut bytes = encode(&sample()).unwrap();
        bytes[8] = version;
        let e = decode(&bytes).unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::UnsupportedVersion { found, supported: 4 } if found == u32::from(version)
            ),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "chip configuration format version {version} is not supported (this build \
                 reads version 4); recompile the network"
            )
        );
        assert!(matches!(
            read_header(&bytes),
            Err(ConfigError::UnsupportedVersion { found, .. }) if found == u32::from(version)
        ));
    }
}

#[test]
fn trailing_bytes() {
    let mut bytes = encode(&sample()).unwrap();
    bytes.extend_from_slice(&[0, 0, 7]);
    let e = decode(&bytes).unwrap_err();
    assert!(
        matches!(e, ConfigError::TrailingBytes { extra: 3, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string().starts_with("3 unexpected bytes follow the "),
        "{e}"
    );
}

#[test]
fn a_corrupt_header() {
    // A target name that is not UTF-8.
    let mut bytes = MAGIC.to_vec();
    bytes.extend_from_slice(&CONFIG_VERSION.to_le_bytes());
    bytes.extend_from_slice(&[2, 0xff, 0xfe, 0, 0, 0]);
    let e = decode(&bytes).unwrap_err();
    assert!(
        matches!(e, ConfigError::Corrupt { part: "header", .. }),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("the header is corrupt: "), "{e}");
}

#[test]
fn a_corrupt_payload_with_a_valid_checksum() {
    let e = decode(&framed(&[0xff; 40])).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Corrupt {
                part: "payload",
                ..
            }
        ),
        "{e:?}"
    );
    let mut payload = postcard::to_stdvec(&sample()).unwrap();
    payload.push(0);
    let e = decode(&framed(&payload)).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the payload is corrupt: 1 bytes are left over after the configuration"
    );
}

#[test]
fn a_header_that_disagrees_with_its_payload() {
    let payload = postcard::to_stdvec(&sample()).unwrap();
    let mut header = header_for(&payload);
    header.target_name = "loihi".into();
    let e = decode(&assemble(&header, &payload)).unwrap_err();
    assert!(matches!(e, ConfigError::HeaderMismatch { .. }), "{e:?}");
    assert!(
        e.to_string()
            .starts_with("the header says target \"loihi\""),
        "{e}"
    );
}

#[test]
fn a_well_framed_invalid_configuration_is_refused() {
    let mut config = sample();
    config.cores[0].threshold[1] = 0;
    let e = decode(&framed(&postcard::to_stdvec(&config).unwrap())).unwrap_err();
    assert!(matches!(e, ConfigError::Invalid { .. }), "{e:?}");
}

#[test]
fn a_huge_declared_length_is_an_error_not_an_allocation() {
    let huge = [0xff, 0xff, 0xff, 0xff, 0x0f]; // varint 2^32 - 1
    // Directly: a Vec of 2^32 - 1 u64s declared in 5 bytes.
    assert!(postcard::from_bytes::<Vec<u64>>(&huge).is_err());
    assert!(postcard::from_bytes::<String>(&huge).is_err());
    // In a file: empty target name, hash 0, T = 1, D = 12, then 2^32 - 1 layers.
    let mut payload = vec![0, 0, 1, 12];
    payload.extend_from_slice(&huge);
    let e = decode(&framed(&payload)).unwrap_err();
    assert!(
        matches!(
            e,
            ConfigError::Corrupt {
                part: "payload",
                ..
            }
        ),
        "{e:?}"
    );
    // And a header whose payload length is near u64::MAX: a damaged header, not a cut file.
    let mut header = header_for(&[]);
    header.payload_len = u64::MAX - 3;
    let e = decode(&assemble(&header, &[])).unwrap_err();
    assert!(
        matches!(e, ConfigError::Corrupt { part: "header", .. }),
        "{e:?}"
    );
}

#[test]
fn a_damaged_payload_length_is_a_corrupt_header_not_a_truncated_file() {
    let payload = postcard::to_stdvec(&sample()).unwrap();
    let len = payload.len() as u64;
    // One bit flipped in the length, both ways: longer (it read as "truncated ... at least
    // 7777447654790 bytes are needed") and shorter (it read as trailing bytes).
    for declared in [len | (1 << 42), len ^ 1, len - 1] {
        let mut header = header_for(&payload);
        header.payload_len = declared;
        let e = decode(&assemble(&header, &payload)).unwrap_err();
        assert!(
            matches!(e, ConfigError::Corrupt { part: "header", .. }),
            "{declared}: {e:?}"
        );
        assert!(
            e.to_string()
                .starts_with("the header is corrupt: it declares a payload of")
        );
    }
    let mut header = header_for(&payload);
    header.payload_len = len + 1;
    assert_eq!(
        decode(&assemble(&header, &payload))
            .unwrap_err()
            .to_string(),
        format!(
            "the header is corrupt: it declares a payload of {} bytes, but the {len} bytes \
             after it are the whole payload (their checksum matches)",
            len + 1
        )
    );
    // A file that was really cut still reads as truncated.
    let bytes = encode(&sample()).unwrap();
    assert!(matches!(
        decode(&bytes[..bytes.len() - 1]).unwrap_err(),
        ConfigError::Truncated { .. }
    ));
}

#[test]
fn read_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.ttfschip");
    let e = read(&missing).unwrap_err();
    assert_eq!(e.path(), Some(missing.as_path()));
    assert!(matches!(e.inner(), ConfigError::Io { .. }));
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}: could not read the configuration: ",
            missing.display()
        )),
        "{text}"
    );

    let garbage = dir.path().join("garbage.ttfschip");
    fs::write(&garbage, b"hello, world").unwrap();
    assert_eq!(
        read(&garbage).unwrap_err().to_string(),
        format!(
            "{}: not a ttfs chip configuration (bad magic bytes)",
            garbage.display()
        )
    );
}

#[test]
fn a_failed_write_leaves_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    // An invalid configuration: refused before any file is made.
    let path = dir.path().join("net.ttfschip");
    let mut config = sample();
    config.output.classes.clear();
    let e = write(&path, &config).unwrap_err();
    assert_eq!(e.path(), Some(path.as_path()));
    assert!(matches!(e.inner(), ConfigError::Invalid { .. }));
    // A directory that does not exist.
    let deep = dir.path().join("no/such/dir/net.ttfschip");
    let e = write(&deep, &sample()).unwrap_err();
    assert!(matches!(e.inner(), ConfigError::Io { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(&deep.display().to_string()),
        "{e}"
    );
    // A path that is a directory: the temporary file is written, the rename fails, and
    // the temporary file is removed.
    let occupied = dir.path().join("occupied");
    fs::create_dir(&occupied).unwrap();
    fs::write(occupied.join("keep"), b"x").unwrap();
    let e = write(&occupied, &sample()).unwrap_err();
    assert!(
        e.to_string()
            .contains("could not rename the temporary file"),
        "{e}"
    );
    assert!(occupied.join("keep").exists());
    // No path at all.
    assert!(write(Path::new("/"), &sample()).is_err());

    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["occupied"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode(&bytes);
        let _ = read_header(&bytes);
    }

    #[test]
    fn random_headers_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&CONFIG_VERSION.to_le_bytes());
        bytes.extend_from_slice(&tail);
        prop_assert!(decode(&bytes).is_err());
    }

    #[test]
    fn random_payloads_with_valid_framing_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let _ = decode(&framed(&payload));
    }

    #[test]
    fn random_corruptions_of_a_valid_file_never_panic(
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1..=255u8), 1..8),
    ) {
        let mut bytes = encode(&sample()).unwrap();
        for (at, flip) in edits {
            let i = at.index(bytes.len());
            bytes[i] ^= flip;
        }
        let _ = decode(&bytes);
    }
}
