//! Reading what MLflow leaves on disk: a run's metrics, parameters and tags
//! (`mlruns/<experiment>/<run_id>/{metrics,params,tags}/<key>`), attached to a
//! version at registration; and model directories (`MLmodel` plus the
//! flavor's data file), registered with `--mlflow DIR`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lakescore_model::{Flavor, mlmodel};

use super::{RegistryError, Result};

/// What lakescore takes from an MLflow model directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDir {
    pub flavor: Flavor,
    /// The flavor's data file (`model.xgb`, `model.lgb`, ...).
    pub artifact: PathBuf,
    /// Column-based input signature: (name, MLflow type), if the model has one.
    pub signature: Option<Vec<(String, String)>>,
    pub run_id: Option<String>,
    pub mlflow_version: Option<String>,
}

/// Read `DIR/MLmodel` (parsed by [`lakescore_model::mlmodel`]): the flavor,
/// its data file, which must exist, and the input signature.
pub fn read_model_dir(dir: &Path) -> Result<ModelDir> {
    let path = dir.join("MLmodel");
    let err = |message: String| RegistryError::Mlflow {
        what: "model",
        path: path.display().to_string(),
        message,
    };
    let size = std::fs::metadata(&path)
        .map_err(|e| {
            err(format!(
                "{e} (an MLflow model directory holds an MLmodel file: pass the folder that \
                 mlflow.<flavor>.log_model or save_model wrote)"
            ))
        })?
        .len();
    if size > mlmodel::MAX_MLMODEL_BYTES as u64 {
        let bytes = usize::try_from(size).unwrap_or(usize::MAX);
        return Err(err(mlmodel::MlModelError::TooLarge { bytes }.to_string()));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
    let model = mlmodel::parse(&text).map_err(|e| err(e.to_string()))?;
    let artifact = dir.join(&model.data);
    if !artifact.is_file() {
        return Err(err(format!(
            "the {} flavor's data file {} is missing",
            model.flavor, model.data
        )));
    }
    Ok(ModelDir {
        flavor: model.flavor,
        artifact,
        signature: model.signature,
        run_id: model.run_id,
        mlflow_version: model.mlflow_version,
    })
}

/// A run's logged values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFiles {
    /// The last logged value of each metric (highest step, then latest time).
    pub metrics: BTreeMap<String, f64>,
    pub params: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Read an MLflow run directory (the one holding `metrics/`, `params/`, `meta.yaml`).
pub fn read_run(dir: &Path) -> Result<RunFiles> {
    let err = |what: &'static str, path: &Path, message: String| RegistryError::Mlflow {
        what,
        path: path.display().to_string(),
        message,
    };
    if !dir.join("metrics").is_dir() && !dir.join("params").is_dir() {
        return Err(err(
            "run",
            dir,
            "not an MLflow run directory (no metrics/ or params/ folder)".into(),
        ));
    }
    let mut run = RunFiles::default();
    for (path, key) in files_under(&dir.join("metrics"))? {
        let text = read(&path)?;
        // Each line: "<timestamp_ms> <value> [<step>]"; keep the latest (step, timestamp).
        let mut best: Option<((i64, i64), f64)> = None;
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let parsed = match parts.as_slice() {
                [ts, value] => ts
                    .parse()
                    .ok()
                    .zip(value.parse().ok())
                    .map(|(t, v)| ((0, t), v)),
                [ts, value, step, ..] => match (ts.parse(), value.parse(), step.parse()) {
                    (Ok(t), Ok(v), Ok(s)) => Some(((s, t), v)),
                    _ => None,
                },
                _ => None,
            };
            let (order, value) = parsed.ok_or_else(|| {
                err(
                    "metric",
                    &path,
                    format!(
                        "line {}: expected \"<timestamp> <value> <step>\", found {line:?}",
                        n + 1
                    ),
                )
            })?;
            if best.is_none_or(|(o, _)| order >= o) {
                best = Some((order, value));
            }
        }
        if let Some((_, v)) = best {
            run.metrics.insert(key, v);
        }
    }
    for (path, key) in files_under(&dir.join("params"))? {
        run.params
            .insert(key, read(&path)?.trim_end_matches('\n').to_string());
    }
    for (path, key) in files_under(&dir.join("tags"))? {
        run.tags
            .insert(key, read(&path)?.trim_end_matches('\n').to_string());
    }
    Ok(run)
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| RegistryError::Mlflow {
        what: "file",
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Files under `root` with their key: the path relative to `root` with `/`
/// (MLflow stores a key `a/b` as a nested file). A missing folder has none.
fn files_under(root: &Path) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    if !root.is_dir() {
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| RegistryError::Mlflow {
            what: "folder",
            path: dir.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(root) {
                let key = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((path, key));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model directory MLflow wrote (`fixtures/generate_mlflow.py`); what
    /// `MLmodel` says is tested with the parser in `lakescore_model::mlmodel`.
    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/mlflow")
            .join(name)
    }

    #[test]
    fn model_dirs_give_flavor_data_file_and_signature() {
        let dir = fixture("xgb_binary");
        let m = read_model_dir(&dir).unwrap();
        assert_eq!(m.flavor, Flavor::Xgboost);
        assert_eq!(m.artifact, dir.join("model.ubj"));
        let columns: Vec<(String, String)> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|n| ((*n).to_string(), "double".to_string()))
            .collect();
        assert_eq!(m.signature.unwrap(), columns);
        assert_eq!(m.mlflow_version.as_deref(), Some("3.17.2"));
    }

    #[test]
    fn a_pickled_sklearn_model_is_refused_with_advice() {
        let e = read_model_dir(&fixture("sklearn_only"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("python_function, sklearn") && e.contains("skl2onnx"),
            "{e}"
        );
        let e = read_model_dir(&fixture("nope")).unwrap_err().to_string();
        assert!(e.contains("MLmodel"), "{e}");
    }

    #[test]
    fn a_missing_data_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(
            fixture("xgb_binary").join("MLmodel"),
            dir.path().join("MLmodel"),
        )
        .unwrap();
        let e = read_model_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("data file model.ubj is missing"), "{e}");
    }

    #[test]
    fn reads_the_last_value_of_each_metric_and_every_param() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        std::fs::create_dir_all(run.join("metrics/val")).unwrap();
        std::fs::create_dir_all(run.join("params")).unwrap();
        std::fs::create_dir_all(run.join("tags")).unwrap();
        std::fs::write(
            run.join("metrics/auc"),
            "1700000000000 0.81 0\n1700000000500 0.86 2\n1700000000200 0.84 1\n",
        )
        .unwrap();
        std::fs::write(run.join("metrics/val/loss"), "1700000000000 0.25 0\n").unwrap();
        std::fs::write(run.join("params/max_depth"), "6").unwrap();
        std::fs::write(run.join("tags/mlflow.runName"), "nightly").unwrap();
        let got = read_run(run).unwrap();
        assert_eq!(got.metrics["auc"], 0.86);
        assert_eq!(got.metrics["val/loss"], 0.25);
        assert_eq!(got.params["max_depth"], "6");
        assert_eq!(got.tags["mlflow.runName"], "nightly");
    }

    #[test]
    fn a_folder_that_is_not_a_run_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = read_run(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not an MLflow run directory"), "{e}");
        std::fs::create_dir_all(dir.path().join("metrics")).unwrap();
        std::fs::write(dir.path().join("metrics/auc"), "garbage").unwrap();
        let e = read_run(dir.path()).unwrap_err().to_string();
        assert!(e.contains("metrics/auc") && e.contains("line 1"), "{e}");
    }
}
