//! Registering a model version: the artifact (and reference profile) stored
//! content-addressed, then the version row under optimistic concurrency, then
//! its `registered` event.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lakescore_core::drift::ReferenceProfile;
use lakescore_core::registry::{EventKind, ModelVersionRow};
use lakescore_core::{Flavor, uri};
use lakescore_model::{self as model, Model};

use super::{Registry, RegistryError, Result, new_event, now_micros, optimistic};
use crate::failpoints::crash_point;

/// What `register` needs.
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    pub name: String,
    pub flavor: Flavor,
    pub artifact: PathBuf,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub actor: String,
    /// The reference profile captured from `--reference` data.
    pub profile: Option<ReferenceProfile>,
    /// Training metrics (`--metric`, or an MLflow run's).
    pub metrics: BTreeMap<String, f64>,
    /// Training parameters (`--param`, or an MLflow run's).
    pub params: BTreeMap<String, String>,
    /// An input signature given with the model (an MLflow model's), which
    /// must name every model feature; else the model's own.
    pub signature: Option<Vec<(String, String)>>,
    /// Names of the input columns where the artifact has none (an ONNX
    /// `[N, k]` tensor): `--features`, else the signature's names.
    pub features: Option<Vec<String>>,
}

/// The largest model artifact accepted (it is read into memory to be checked).
pub const MAX_ARTIFACT_BYTES: u64 = 2 << 30;

impl RegisterRequest {
    /// Read the artifact and load it, with the input names the artifact may
    /// lack (`features`, else the signature's).
    pub fn load_model(&self) -> Result<(Vec<u8>, Box<dyn Model>)> {
        let source = self.artifact.display().to_string();
        let size = std::fs::metadata(&self.artifact)
            .map_err(|e| RegistryError::ReadArtifact {
                path: source.clone(),
                source: e,
            })?
            .len();
        if size > MAX_ARTIFACT_BYTES {
            return Err(RegistryError::Invalid {
                what: "artifact".into(),
                message: format!(
                    "{source} is {size} bytes; artifacts are limited to {MAX_ARTIFACT_BYTES} bytes (2 GiB)"
                ),
            });
        }
        let bytes = std::fs::read(&self.artifact).map_err(|e| RegistryError::ReadArtifact {
            path: source.clone(),
            source: e,
        })?;
        let names: Option<Vec<String>> = self.features.clone().or_else(|| {
            self.signature
                .as_ref()
                .map(|s| s.iter().map(|(n, _)| n.clone()).collect())
        });
        let model = model::load_named(self.flavor, &bytes, &source, names.as_deref())?;
        Ok((bytes, model))
    }
}

/// Where a registration's model comes from, as the command line gives it.
#[derive(Debug, Clone)]
pub enum RegisterSource {
    /// A model file of a flavor.
    Artifact { flavor: Flavor, path: PathBuf },
    /// An MLflow model directory: flavor, data file and signature from its MLmodel.
    Mlflow(PathBuf),
}

/// A registration as the command line gives it: where the model comes
/// from, its metadata, and reference data to profile.
#[derive(Debug, Clone)]
pub struct RegisterCommand {
    pub name: String,
    pub source: RegisterSource,
    /// Input column names for a model file that has none (`--features`).
    pub features: Vec<String>,
    pub description: Option<String>,
    pub tags: BTreeMap<String, String>,
    /// `--metric` values (they override an MLflow run's).
    pub metrics: BTreeMap<String, f64>,
    /// `--param` values (they override an MLflow run's).
    pub params: BTreeMap<String, String>,
    /// An MLflow run directory whose metrics and params are attached.
    pub mlflow_run: Option<PathBuf>,
    /// Reference data to profile for drift (Parquet file or glob, or a Delta table).
    pub reference: Option<String>,
    pub actor: String,
}

impl Registry {
    /// Register from what the command line gives: an MLflow model directory's
    /// flavor, data file, signature and run id, an MLflow run's metrics and
    /// params, and the profile of the reference data.
    pub async fn register_from(&self, cmd: RegisterCommand) -> Result<ModelVersionRow> {
        let mut tags = cmd.tags;
        let (flavor, artifact, signature) = match cmd.source {
            RegisterSource::Mlflow(dir) => {
                let m = super::mlflow::read_model_dir(&dir)?;
                if let Some(run) = &m.run_id {
                    tags.entry("mlflow.run_id".into()).or_insert(run.clone());
                }
                if let Some(v) = &m.mlflow_version {
                    tags.entry("mlflow.version".into()).or_insert(v.clone());
                }
                (m.flavor, m.artifact, m.signature)
            }
            RegisterSource::Artifact { flavor, path } => (flavor, path, None),
        };
        let (mut metrics, mut params) = match &cmd.mlflow_run {
            Some(dir) => {
                let run = super::mlflow::read_run(dir)?;
                (run.metrics, run.params)
            }
            None => Default::default(),
        };
        metrics.extend(cmd.metrics);
        params.extend(cmd.params);
        let mut req = RegisterRequest {
            name: cmd.name,
            flavor,
            artifact,
            description: cmd.description,
            tags,
            actor: cmd.actor,
            profile: None,
            metrics,
            params,
            signature,
            features: (!cmd.features.is_empty()).then_some(cmd.features),
        };
        if let Some(path) = &cmd.reference {
            let (_, model) = req.load_model()?;
            req.profile = Some(
                crate::runner::reference::build_profile(&self.lake, path, model.as_ref())
                    .await
                    .map_err(|e| RegistryError::Reference(Box::new(e)))?,
            );
        }
        self.register(&req).await
    }

    /// Register a new version of `req.name`; returns its row.
    pub async fn register(&self, req: &RegisterRequest) -> Result<ModelVersionRow> {
        uri::check_model_name(&req.name).map_err(|message| RegistryError::Invalid {
            what: "model name".into(),
            message,
        })?;
        let source = req.artifact.display().to_string();
        // Refuse what lakescore could not score, now rather than at the first run.
        let (bytes, loaded) = req.load_model()?;
        let signature = match &req.signature {
            None => loaded.signature(),
            Some(given) => {
                let missing: Vec<&String> = loaded
                    .features()
                    .iter()
                    .filter(|f| !given.iter().any(|(n, _)| n == *f))
                    .collect();
                if !missing.is_empty() {
                    return Err(RegistryError::Invalid {
                        what: "signature".into(),
                        message: format!(
                            "the model reads {missing:?}, which its signature does not list \
                             (signature: {:?})",
                            given.iter().map(|(n, _)| n).collect::<Vec<_>>()
                        ),
                    });
                }
                given.clone()
            }
        };
        let sha = lakescore_core::hash::sha256_hex(&bytes);
        let file_name = Path::new(&req.artifact)
            .file_name()
            .map_or_else(|| "model".into(), |f| f.to_string_lossy().into_owned());
        // Content-addressed: a writer that loses the version race never
        // overwrites the winner's artifact.
        let artifact_path = format!("registry/artifacts/{}/{sha}/{file_name}", req.name);
        self.lake.put_object(&artifact_path, bytes.clone()).await?;
        crash_point!("register.after_artifact");
        let (profile_path, profile_sha256) = match &req.profile {
            None => (None, None),
            Some(profile) => {
                let (dir, sha) = self.store_profile(&req.name, profile).await?;
                (Some(dir), Some(sha))
            }
        };

        let mut table = self.versions_table().await?;
        let meta = HashMap::from([
            ("lakescore.operation".to_string(), "register".into()),
            ("lakescore.model".to_string(), req.name.clone().into()),
        ]);
        let rows = optimistic(
            &mut table,
            &req.name,
            meta,
            async |rows: Vec<ModelVersionRow>| {
                let next = rows
                    .iter()
                    .filter(|r| r.name == req.name)
                    .map(|r| r.version)
                    .max()
                    .unwrap_or(0)
                    + 1;
                // Registering the same file twice is allowed (MLflow does
                // too), but rarely meant: say so.
                let same: Vec<i64> = rows
                    .iter()
                    .filter(|r| r.name == req.name && r.artifact_sha256 == sha)
                    .map(|r| r.version)
                    .collect();
                if !same.is_empty() {
                    tracing::warn!(
                        model = %req.name,
                        "the artifact is identical (SHA-256) to version(s) {same:?}; registering it as version {next}"
                    );
                }
                Ok(vec![ModelVersionRow {
                    name: req.name.clone(),
                    version: next,
                    flavor: req.flavor,
                    artifact_path: artifact_path.clone(),
                    artifact_sha256: sha.clone(),
                    artifact_bytes: bytes.len() as i64,
                    source: source.clone(),
                    features: loaded.features().to_vec(),
                    summary: loaded.describe(),
                    description: req.description.clone(),
                    tags: serde_json::to_string(&req.tags).expect("tags serialize"),
                    created_at: now_micros(),
                    created_by: req.actor.clone(),
                    lakescore_version: env!("CARGO_PKG_VERSION").into(),
                    profile_path: profile_path.clone(),
                    profile_sha256: profile_sha256.clone(),
                    metrics: (!req.metrics.is_empty())
                        .then(|| serde_json::to_string(&req.metrics).expect("metrics serialize")),
                    params: (!req.params.is_empty())
                        .then(|| serde_json::to_string(&req.params).expect("params serialize")),
                    signature: Some(signature_json(&signature)),
                    output_columns: Some(signature_json(
                        &std::iter::once("prediction".to_string())
                            .chain(loaded.output_columns())
                            .map(|c| (c, "double".to_string()))
                            .collect::<Vec<_>>(),
                    )),
                }])
            },
        )
        .await?;
        crash_point!("register.after_version_row");
        let row = rows.into_iter().next().expect("one row was committed");
        // Its `registered` event. Should this process die first, the next
        // write to the events table records it (see the module doc).
        self.append_events(&req.name, |_| {
            Ok(vec![new_event(
                &req.name,
                Some(row.version),
                EventKind::Registered,
                &req.actor,
                None,
            )])
        })
        .await?;
        Ok(row)
    }
}

/// The signature column's JSON text.
fn signature_json(signature: &[(String, String)]) -> String {
    let items: Vec<serde_json::Value> = signature
        .iter()
        .map(|(name, ty)| serde_json::json!({ "name": name, "type": ty }))
        .collect();
    serde_json::Value::Array(items).to_string()
}
