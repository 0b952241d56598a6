//! Universal Binary JSON (draft 12), as XGBoost writes `.ubj` models, read
//! into a `serde_json::Value` so that one loader serves both formats.
//! Big-endian numbers; optimized containers (`$` type, `#` count) included.

use serde_json::{Map, Number, Value};

/// Parse one UBJSON value filling all of `bytes`.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, pos: 0 };
    let v = r.value()?;
    if r.pos != bytes.len() {
        return Err(format!(
            "{} trailing bytes after the value",
            bytes.len() - r.pos
        ));
    }
    Ok(v)
}

/// Nesting deeper than this is refused (a malformed file, not a model).
const MAX_DEPTH: usize = 256;

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| format!("truncated at byte {} (wanted {n} more)", self.pos))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn value(&mut self) -> Result<Value, String> {
        let marker = self.byte()?;
        self.typed(marker, 0)
    }

    fn typed(&mut self, marker: u8, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("nesting too deep".into());
        }
        Ok(match marker {
            b'Z' => Value::Null,
            b'T' => Value::Bool(true),
            b'F' => Value::Bool(false),
            b'i' | b'U' | b'I' | b'l' | b'L' => Value::Number(self.int(marker)?.into()),
            b'd' => {
                let b = self.take(4)?;
                float(f64::from(f32::from_be_bytes([b[0], b[1], b[2], b[3]])))
            }
            b'D' => {
                let b = self.take(8)?;
                float(f64::from_be_bytes(b.try_into().expect("8 bytes")))
            }
            b'C' => Value::String((self.byte()? as char).to_string()),
            b'S' | b'H' => {
                let s = self.string()?;
                if marker == b'H' {
                    s.parse::<f64>()
                        .map(float)
                        .map_err(|_| format!("bad number {s:?}"))?
                } else {
                    Value::String(s)
                }
            }
            b'[' => {
                let (ty, count) = self.container_header()?;
                let mut items = Vec::with_capacity(count.unwrap_or(0).min(1 << 20));
                match count {
                    Some(n) => {
                        for _ in 0..n {
                            let m = match ty {
                                Some(t) => t,
                                None => self.byte()?,
                            };
                            items.push(self.typed(m, depth + 1)?);
                        }
                    }
                    None => loop {
                        let m = self.byte()?;
                        if m == b']' {
                            break;
                        }
                        if m == b'N' {
                            continue;
                        }
                        items.push(self.typed(m, depth + 1)?);
                    },
                }
                Value::Array(items)
            }
            b'{' => {
                let (ty, count) = self.container_header()?;
                let mut map = Map::new();
                match count {
                    Some(n) => {
                        for _ in 0..n {
                            let k = self.string()?;
                            let m = match ty {
                                Some(t) => t,
                                None => self.byte()?,
                            };
                            map.insert(k, self.typed(m, depth + 1)?);
                        }
                    }
                    None => loop {
                        if self.bytes.get(self.pos) == Some(&b'}') {
                            self.pos += 1;
                            break;
                        }
                        let k = self.string()?;
                        let m = self.byte()?;
                        map.insert(k, self.typed(m, depth + 1)?);
                    },
                }
                Value::Object(map)
            }
            other => {
                return Err(format!(
                    "unknown marker {:?} at byte {}",
                    other as char,
                    self.pos - 1
                ));
            }
        })
    }

    fn int(&mut self, marker: u8) -> Result<i64, String> {
        Ok(match marker {
            b'i' => i64::from(self.byte()? as i8),
            b'U' => i64::from(self.byte()?),
            b'I' => {
                let b = self.take(2)?;
                i64::from(i16::from_be_bytes([b[0], b[1]]))
            }
            b'l' => {
                let b = self.take(4)?;
                i64::from(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            }
            b'L' => {
                let b = self.take(8)?;
                i64::from_be_bytes(b.try_into().expect("8 bytes"))
            }
            other => {
                return Err(format!(
                    "expected an integer, found marker {:?}",
                    other as char
                ));
            }
        })
    }

    /// A length-prefixed string (object keys and `S` values).
    fn string(&mut self) -> Result<String, String> {
        let m = self.byte()?;
        let len = self.int(m)?;
        let len = usize::try_from(len).map_err(|_| format!("negative string length {len}"))?;
        let raw = self.take(len)?;
        String::from_utf8(raw.to_vec()).map_err(|e| e.to_string())
    }

    /// Optional `$type` and `#count` after `[` or `{`.
    fn container_header(&mut self) -> Result<(Option<u8>, Option<usize>), String> {
        let mut ty = None;
        if self.bytes.get(self.pos) == Some(&b'$') {
            self.pos += 1;
            ty = Some(self.byte()?);
        }
        let mut count = None;
        if self.bytes.get(self.pos) == Some(&b'#') {
            self.pos += 1;
            let m = self.byte()?;
            let n = self.int(m)?;
            let n = usize::try_from(n).map_err(|_| format!("negative count {n}"))?;
            if n > self.bytes.len() * 8 + 8 {
                return Err(format!("count {n} is larger than the file"));
            }
            count = Some(n);
        } else if ty.is_some() {
            return Err("a typed container without a count".into());
        }
        Ok((ty, count))
    }
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_objects_typed_arrays_and_scalars() {
        // {"a": [$d #i 2 1.5 -2.0], "s": "hi", "n": 300, "t": true}
        let mut b = vec![b'{'];
        b.extend([b'i', 1, b'a', b'[', b'$', b'd', b'#', b'i', 2]);
        b.extend(1.5f32.to_be_bytes());
        b.extend((-2.0f32).to_be_bytes());
        b.extend([b'i', 1, b's', b'S', b'i', 2, b'h', b'i']);
        b.extend([b'i', 1, b'n', b'I']);
        b.extend(300i16.to_be_bytes());
        b.extend([b'i', 1, b't', b'T', b'}']);
        let v = parse(&b).unwrap();
        assert_eq!(v["a"], serde_json::json!([1.5, -2.0]));
        assert_eq!(v["s"], "hi");
        assert_eq!(v["n"], 300);
        assert_eq!(v["t"], true);
        assert!(parse(&b[..b.len() - 3]).unwrap_err().contains("truncated"));
    }
}
