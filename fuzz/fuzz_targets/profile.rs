//! Reference profiles (profile.json + values.bin): decoding never panics.
//! The input is the JSON's length (4 bytes, little-endian), the JSON, then
//! the values file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let at = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (json, values) = rest.split_at(at);
    let _ = lakescore_core::drift::encoding::decode_profile(json, values, "profile.json");
});
