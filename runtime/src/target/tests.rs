//! Target descriptions: the shipped ones load, every field's range is enforced by name.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/targets");

fn tiny_text() -> String {
    std::fs::read_to_string(format!("{DIR}/tiny.json")).unwrap()
}

/// The tiny fixture as a JSON value, to break one field at a time.
fn tiny_value() -> serde_json::Value {
    serde_json::from_str(&tiny_text()).unwrap()
}

fn parse_value(v: &serde_json::Value) -> Result<Target, TargetError> {
    parse(&serde_json::to_string_pretty(v).unwrap(), "x.json")
}

fn err_of(v: &serde_json::Value) -> String {
    parse_value(v).unwrap_err().to_string()
}

#[test]
fn every_shipped_fixture_loads_and_validates() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(DIR).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let t = load(&path).unwrap_or_else(|e| panic!("{e}"));
            t.validate().unwrap();
            assert_eq!(
                path.file_stem().unwrap().to_str().unwrap(),
                t.name,
                "file name and target name agree"
            );
            names.push(t.name);
        }
    }
    names.sort();
    assert_eq!(
        names,
        ["akida", "loihi", "speck", "tiny", "truenorth", "xylo"]
    );
}

#[test]
fn fixture_shapes() {
    let t = |n: &str| load(Path::new(&format!("{DIR}/{n}.json"))).unwrap();
    assert_eq!(t("loihi").cores(), 128);
    assert_eq!(t("truenorth").cores(), 4096);
    let xylo = t("xylo");
    assert_eq!(xylo.cores(), 1);
    assert!(xylo.core.max_axons < 784, "an MNIST MLP must not fit Xylo");
    assert!(t("tiny").cores() > 1);
}

#[test]
fn missing_field_names_field_file_and_line() {
    let mut v = tiny_value();
    v["core"].as_object_mut().unwrap().remove("weight_bits");
    let e = err_of(&v);
    assert!(e.starts_with("x.json: "), "{e}");
    assert!(e.contains("missing field `weight_bits`"), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn unknown_field_names_field() {
    let mut v = tiny_value();
    v["mesh"]["depth"] = 3.into();
    let e = err_of(&v);
    assert!(e.starts_with("x.json: "), "{e}");
    assert!(e.contains("unknown field `depth`"), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn wrong_type_keeps_line_and_column() {
    let text = tiny_text().replacen("\"cols\": 4", "\"cols\": \"four\"", 1);
    assert_ne!(text, tiny_text(), "fixture layout changed");
    let e = parse(&text, "x.json").unwrap_err().to_string();
    assert!(e.starts_with("x.json: invalid type"), "{e}");
    assert!(e.contains("line") && e.contains("column"), "{e}");
}

#[test]
fn zero_mesh_is_refused() {
    let mut v = tiny_value();
    v["mesh"]["rows"] = 0.into();
    assert_eq!(
        err_of(&v),
        "x.json: mesh.rows is 0, must be between 1 and 256"
    );
}

#[test]
fn weight_bits_below_two_are_refused_where_the_target_is_read() {
    // The one rule for weight widths: 1-bit weights have no symmetric signed range, so the
    // target itself is refused, not every compile for it.
    for bits in [0, 1] {
        let mut v = tiny_value();
        v["core"]["weight_bits"] = bits.into();
        assert_eq!(
            err_of(&v),
            format!(
                "x.json: core.weight_bits is {bits}, must be between 2 and 16 (quantization \
                 needs a symmetric signed range, at least -1..=1)"
            )
        );
    }
}

#[test]
fn every_size_is_bounded_and_the_error_names_field_and_bound() {
    let cases = [
        (
            "mesh",
            "cols",
            65_536u64,
            "mesh.cols is 65536, must be between 1 and 256",
        ),
        (
            "mesh",
            "rows",
            300,
            "mesh.rows is 300, must be between 1 and 256",
        ),
        (
            "core",
            "max_neurons",
            1 << 21,
            "core.max_neurons is 2097152, must be between 1 and 1048576",
        ),
        (
            "core",
            "max_axons",
            u64::from(u32::MAX),
            "core.max_axons is 4294967295, must be between 1 and 1048576",
        ),
        (
            "core",
            "max_synapses",
            1 << 27,
            "core.max_synapses is 134217728, must be between 1 and 67108864",
        ),
        (
            "core",
            "fifo_depth",
            1 << 21,
            "core.fifo_depth is 2097152, must be between 1 and 1048576",
        ),
        (
            "core",
            "synapse_lanes",
            1 << 17,
            "core.synapse_lanes is 131072, must be between 1 and 65536",
        ),
        (
            "timing_cycles",
            "barrier",
            1 << 21,
            "timing_cycles.barrier is 2097152, must be between 0 and 1048576",
        ),
        (
            "timing_cycles",
            "hop",
            1 << 21,
            "timing_cycles.hop is 2097152, must be between 1 and 1048576",
        ),
    ];
    for (group, field, value, message) in cases {
        let mut v = tiny_value();
        v[group][field] = value.into();
        assert_eq!(err_of(&v), format!("x.json: {message}"));
    }
    let mut v = tiny_value();
    v["energy_pj"]["synop"] = 2e6.into();
    assert_eq!(
        err_of(&v),
        "x.json: energy_pj.synop is 2000000, must be finite, at least 0 and at most 1000000"
    );
    let mut v = tiny_value();
    v["timing_cycles"]["clock_mhz"] = 1e7.into();
    assert!(
        err_of(&v).contains(
            "clock_mhz is 10000000, must be finite, from 0.001 (1 kHz) to 1000000 (1 THz)"
        )
    );
}

#[test]
fn weight_bits_seventeen_is_refused() {
    let mut v = tiny_value();
    v["core"]["weight_bits"] = 17.into();
    assert!(err_of(&v).starts_with("x.json: core.weight_bits is 17, must be between 2 and 16"));
}

#[test]
fn potential_narrower_than_weight_is_refused() {
    let mut v = tiny_value();
    v["core"]["weight_bits"] = 12.into();
    v["core"]["potential_bits"] = 10.into();
    let e = err_of(&v);
    assert!(e.contains("core.potential_bits is 10"), "{e}");
    assert!(e.contains("core.weight_bits (12)"), "{e}");
}

#[test]
fn negative_energy_is_refused() {
    let mut v = tiny_value();
    v["energy_pj"]["hop"] = (-1.5).into();
    assert_eq!(
        err_of(&v),
        "x.json: energy_pj.hop is -1.5, must be finite, at least 0 and at most 1000000"
    );
}

#[test]
fn zero_clock_is_refused() {
    let mut v = tiny_value();
    v["timing_cycles"]["clock_mhz"] = 0.0.into();
    let e = err_of(&v);
    assert!(e.contains("timing_cycles.clock_mhz is 0"), "{e}");
}

#[test]
fn a_clock_below_a_kilohertz_is_refused() {
    for clock in [1e-300, 1e-4, 9.99e-4] {
        let mut v = tiny_value();
        v["timing_cycles"]["clock_mhz"] = clock.into();
        let e = err_of(&v);
        assert!(
            e.contains("timing_cycles.clock_mhz is") && e.contains("from 0.001 (1 kHz)"),
            "{clock}: {e}"
        );
    }
}

/// The slowest clock, the largest static power and every cost at its bound: the figures a
/// run derives from the largest counters are all finite, so no report or picture meets an
/// infinity (a clock of 1e-300 MHz made `ttfs run` hang drawing an infinite axis).
#[test]
fn every_figure_derived_from_an_accepted_target_is_finite() {
    let mut v = tiny_value();
    v["timing_cycles"]["clock_mhz"] = limits::MIN_CLOCK_MHZ.into();
    v["energy_pj"]["static_mw"] = limits::STATIC_MW.into();
    for field in [
        "synop",
        "neuron_update",
        "spike_inject",
        "hop",
        "host_inject",
    ] {
        v["energy_pj"][field] = limits::ENERGY_PJ.into();
    }
    let target = parse(&v.to_string(), "x.json").unwrap();
    let mut counters = crate::emulator::Counters::new(1, 1);
    counters.synaptic_ops = u64::MAX;
    counters.neuron_updates = u64::MAX;
    counters.packets = u64::MAX;
    counters.hops = u64::MAX;
    counters.host_packets = u64::MAX;
    counters.cycles = u64::MAX;
    let energy = crate::energy::Energy::of(&counters, &target);
    assert!(energy.total_pj.is_finite(), "{energy:?}");
    assert!(crate::energy::latency_us(u64::MAX, &target).is_finite());
}

#[test]
fn zero_synop_cycles_is_refused() {
    let mut v = tiny_value();
    v["timing_cycles"]["synop"] = 0.into();
    assert!(err_of(&v).contains("timing_cycles.synop is 0"));
}

#[test]
fn decay_bits_out_of_range_is_refused() {
    let mut v = tiny_value();
    v["neuron"]["decay_bits"] = 25.into();
    assert!(err_of(&v).contains("neuron.decay_bits is 25, must be between 1 and 24"));
}

#[test]
fn empty_sources_is_refused() {
    let mut v = tiny_value();
    v["sources"] = serde_json::json!([]);
    let e = err_of(&v);
    assert!(e.starts_with("x.json: sources is empty"), "{e}");
}

#[test]
fn empty_name_is_refused() {
    let mut v = tiny_value();
    v["name"] = "".into();
    assert!(err_of(&v).starts_with("x.json: name is empty"));
}

#[test]
fn refractory_null_and_number_both_parse() {
    let mut v = tiny_value();
    v["neuron"]["max_refractory_steps"] = serde_json::Value::Null;
    assert_eq!(parse_value(&v).unwrap().neuron.max_refractory_steps, None);
    v["neuron"]["max_refractory_steps"] = 7.into();
    assert_eq!(
        parse_value(&v).unwrap().neuron.max_refractory_steps,
        Some(7)
    );
    // Required even though it is an Option: a missing key is an error, not `None`.
    v["neuron"]
        .as_object_mut()
        .unwrap()
        .remove("max_refractory_steps");
    assert!(err_of(&v).contains("missing field `max_refractory_steps`"));
}

#[test]
fn validate_without_file_names_the_target() {
    let mut t = parse(&tiny_text(), "tiny.json").unwrap();
    t.core.fifo_depth = 0;
    assert_eq!(
        t.validate().unwrap_err().to_string(),
        "target \"tiny\": core.fifo_depth is 0, must be between 1 and 1048576"
    );
}

#[test]
fn load_of_missing_file_names_it() {
    let e = load(Path::new("no/such/target.json"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("no/such/target.json: "), "{e}");
}

#[test]
fn hash_is_stable_across_round_trip_and_sensitive_to_fields() {
    let t = parse(&tiny_text(), "tiny.json").unwrap();
    let again = parse(&t.to_json_pretty(), "again").unwrap();
    assert_eq!(t, again);
    assert_eq!(t.hash(), again.hash());
    let compact = parse(&serde_json::to_string(&t).unwrap(), "compact").unwrap();
    assert_eq!(t.hash(), compact.hash());

    let mut changed = t.clone();
    changed.energy_pj.hop += 0.1;
    assert_ne!(t.hash(), changed.hash());
    let mut changed = t.clone();
    changed.core.max_neurons += 1;
    assert_ne!(t.hash(), changed.hash());
}

#[test]
fn save_then_load_round_trips() {
    let t = parse(&tiny_text(), "tiny.json").unwrap();
    let dir = std::env::temp_dir().join(format!("ttfs-target-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny.json");
    t.save(&path).unwrap();
    let back = load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(t, back);
    assert_eq!(t.hash(), back.hash());
}
