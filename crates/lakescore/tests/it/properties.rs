//! Property tests through the binary: reruns are idempotent whatever the input.

use super::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    /// Whatever the order and number of reruns, each date holds exactly one copy
    /// of its predictions, written by the last run of that date.
    #[test]
    fn reruns_are_idempotent(dates in proptest::collection::vec(prop_oneof!["2024-01-01", "2024-01-02"], 1..5)) {
        let env = Env::new();
        env.register_demo();
        let spec = env.demo_spec(&demo_input());
        let mut last_run: HashMap<String, String> = HashMap::new();
        for date in &dates {
            let out = env.ok(&["run", &spec, "--date", date, "--json"]);
            let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
            last_run.insert(date.clone(), report["run_id"].as_str().unwrap().to_string());
        }
        let (_, batches) = read_table(&env.lake(), "predictions/churn_daily").unwrap();
        prop_assert_eq!(rows(&batches), 5000 * last_run.len());
        let mut run_ids = std::collections::HashSet::new();
        for b in &batches {
            let runs = b.column_by_name("run_id").unwrap().as_string::<i32>();
            for i in 0..b.num_rows() {
                run_ids.insert(runs.value(i).to_string());
            }
        }
        let expected: std::collections::HashSet<String> = last_run.values().cloned().collect();
        prop_assert_eq!(run_ids, expected);
    }
}
