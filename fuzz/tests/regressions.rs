//! Every file under `regressions/<target>/` fed to its target on stable: the inputs of crashes
//! found and fixed, and the hostile inputs each target must survive. A folder whose name is no
//! target, or a target without a folder, fails: a regression input is never silently skipped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

#[test]
fn every_regression_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("regressions");
    let mut ran = 0;
    for folder in std::fs::read_dir(&root).expect("regressions/") {
        let folder = folder.expect("an entry").path();
        let name = folder.file_name().unwrap().to_string_lossy().into_owned();
        let target = twitter_fuzz::TARGETS
            .iter()
            .find(|(t, _)| *t == name)
            .unwrap_or_else(|| panic!("regressions/{name} names no target"))
            .1;
        let mut inputs: Vec<_> = std::fs::read_dir(&folder)
            .expect("a target's folder")
            .map(|e| e.expect("an entry").path())
            .collect();
        inputs.sort();
        for input in inputs {
            let data = std::fs::read(&input).expect("an input");
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{} fails {name}", input.display());
            ran += 1;
        }
    }
    for (name, _) in twitter_fuzz::TARGETS {
        assert!(
            root.join(name).is_dir(),
            "target {name} has no regressions/{name}/"
        );
    }
    assert!(ran > 0);
}
