//! "Did you mean ...?" for names a user types: models, aliases, stages, run
//! ids. The similarity is Jaro-Winkler (as clap uses for subcommands), from
//! `strsim`.

/// How similar a candidate must be to be offered (clap's threshold).
const THRESHOLD: f64 = 0.7;

/// The candidate most like `word`, if any is close enough.
pub fn closest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, c)| *score > THRESHOLD && *c != word)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// ` (did you mean "x"?)` for the closest candidate, or nothing.
pub fn hint<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    closest(word, candidates).map_or_else(String::new, |c| format!(" (did you mean {c:?}?)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_the_closest_name_only_when_close() {
        let names = ["champion", "challenger", "shadow"];
        assert_eq!(closest("champoin", names), Some("champion"));
        assert_eq!(closest("chalenger", names), Some("challenger"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(hint("shadw", names), " (did you mean \"shadow\"?)");
        assert_eq!(hint("xyz", names), "");
    }
}
