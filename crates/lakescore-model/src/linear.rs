//! Linear models in lakescore's own JSON format (`lakescore.linear/v1`).
//!
//! ```json
//! {"format": "lakescore.linear/v1", "features": ["f0", "f1"],
//!  "coefficients": [0.5, -1.25], "intercept": 0.1, "link": "identity"}
//! ```
//! Score = `intercept + Σ coefficients[i] · x[features[i]]` in `f64`;
//! `"link": "logistic"` applies `1 / (1 + e^-score)`. A row with a missing
//! (null or NaN) input gets a null prediction: there is no default direction.

use serde::Deserialize;

use super::{FeatureMatrix, Flavor, Model, ModelError};

pub const FORMAT: &str = "lakescore.linear/v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    Identity,
    Logistic,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinearJson {
    format: String,
    features: Vec<String>,
    coefficients: Vec<f64>,
    intercept: f64,
    link: Link,
}

#[derive(Debug, Clone)]
pub struct LinearModel {
    features: Vec<String>,
    coefficients: Vec<f64>,
    intercept: f64,
    link: Link,
}

impl LinearModel {
    pub fn from_json(bytes: &[u8], source_name: &str) -> Result<Self, ModelError> {
        let err = |message: String| ModelError::Parse {
            source_name: source_name.to_string(),
            flavor: Flavor::Linear,
            message,
        };
        let m: LinearJson = serde_json::from_slice(bytes).map_err(|e| err(e.to_string()))?;
        if m.format != FORMAT {
            return Err(err(format!(
                "format is {:?}, expected {FORMAT:?}",
                m.format
            )));
        }
        if m.features.len() != m.coefficients.len() {
            return Err(err(format!(
                "{} features but {} coefficients",
                m.features.len(),
                m.coefficients.len()
            )));
        }
        if m.features.is_empty() {
            return Err(err("no features".into()));
        }
        if !m.intercept.is_finite() || m.coefficients.iter().any(|c| !c.is_finite()) {
            return Err(err("coefficients and intercept must be finite".into()));
        }
        Ok(Self {
            features: m.features,
            coefficients: m.coefficients,
            intercept: m.intercept,
            link: m.link,
        })
    }
}

impl Model for LinearModel {
    fn flavor(&self) -> Flavor {
        Flavor::Linear
    }

    fn features(&self) -> &[String] {
        &self.features
    }

    fn predict_all(&self, x: &FeatureMatrix) -> super::Predictions {
        super::Predictions {
            prediction: self.linear_predict(x),
            probabilities: Vec::new(),
        }
    }

    fn describe(&self) -> String {
        self.summary()
    }
}

impl LinearModel {
    fn linear_predict(&self, x: &FeatureMatrix) -> Vec<f64> {
        let mut out = vec![self.intercept; x.rows];
        for (coef, column) in self.coefficients.iter().zip(&x.columns) {
            for (acc, v) in out.iter_mut().zip(column) {
                *acc += coef * v;
            }
        }
        if self.link == Link::Logistic {
            for v in &mut out {
                *v = 1.0 / (1.0 + (-*v).exp());
            }
        }
        out
    }

    fn summary(&self) -> String {
        let link = match self.link {
            Link::Identity => "identity",
            Link::Logistic => "logistic",
        };
        format!("linear, {} features, {link} link", self.features.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_inputs_give_nan() {
        let m = LinearModel::from_json(
            br#"{"format":"lakescore.linear/v1","features":["a","b"],"coefficients":[2.0,1.0],"intercept":1.0,"link":"identity"}"#,
            "t",
        )
        .unwrap();
        let x = FeatureMatrix {
            rows: 2,
            columns: vec![vec![1.0, f64::NAN], vec![3.0, 1.0]],
        };
        let p = m.predict(&x);
        assert_eq!(p[0], 6.0);
        assert!(p[1].is_nan());
    }

    #[test]
    fn rejects_mismatched_lengths_and_unknown_links() {
        for bad in [
            r#"{"format":"lakescore.linear/v1","features":["a"],"coefficients":[1,2],"intercept":0,"link":"identity"}"#,
            r#"{"format":"lakescore.linear/v1","features":["a"],"coefficients":[1],"intercept":0,"link":"probit"}"#,
            r#"{"format":"other","features":["a"],"coefficients":[1],"intercept":0,"link":"identity"}"#,
        ] {
            assert!(
                LinearModel::from_json(bad.as_bytes(), "t").is_err(),
                "{bad}"
            );
        }
    }
}
