//! Deterministic sampling and streaming moments for profiles and windows.

/// A small deterministic PRNG (SplitMix64) for reservoir sampling.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Keeps every value up to `cap`, then a uniform reservoir sample of `cap` (Algorithm R).
#[derive(Debug, Clone)]
pub(crate) struct Reservoir {
    pub(crate) cap: usize,
    pub(crate) seen: u64,
    pub(crate) values: Vec<f64>,
    pub(crate) rng: SplitMix,
}

impl Reservoir {
    pub(crate) fn new(cap: usize, seed: u64) -> Self {
        Self {
            cap,
            seen: 0,
            values: Vec::new(),
            rng: SplitMix(seed),
        }
    }

    pub(crate) fn push(&mut self, v: f64) {
        self.seen += 1;
        if self.values.len() < self.cap {
            self.values.push(v);
        } else {
            let j = self.rng.next() % self.seen;
            if (j as usize) < self.cap {
                self.values[j as usize] = v;
            }
        }
    }

    pub(crate) fn sampled(&self) -> bool {
        self.seen > self.values.len() as u64
    }

    pub(crate) fn into_sorted(mut self) -> Vec<f64> {
        self.values.sort_by(f64::total_cmp);
        self.values
    }
}

/// Streaming moments and extremes (Welford).
#[derive(Debug, Clone, Default)]
pub(crate) struct Moments {
    pub(crate) n: u64,
    pub(crate) mean: f64,
    pub(crate) m2: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Moments {
    pub(crate) fn push(&mut self, v: f64) {
        if self.n == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        let delta = v - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (v - self.mean);
    }
}
