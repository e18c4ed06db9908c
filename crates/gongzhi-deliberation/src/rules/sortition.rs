//! Verifiable sortition (see docs/sortition.md). Before the draw the server publishes the hash
//! of the candidate list and a commitment (SHA-256) to a random seed; the draw ranks candidates
//! by SHA-256(seed ‖ "\n" ‖ candidate) and takes the first k; revealing the seed lets anyone
//! re-run it. Neither side can steer the result after the list and commitment are published.

use sha2::{Digest, Sha256};

/// The hash of a candidate list as published: SHA-256 of each candidate followed by "\n".
pub fn list_hash(candidates: &[String]) -> String {
    let mut h = Sha256::new();
    for c in candidates {
        h.update(c.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// The commitment to a seed (the seed as text, usually 64 hex digits).
pub fn commitment(seed: &str) -> String {
    hex::encode(Sha256::digest(seed.as_bytes()))
}

/// The draw: candidates ranked by SHA-256(seed + "\n" + candidate), ties by the candidate.
pub fn draw(candidates: &[String], seed: &str, k: usize) -> Vec<String> {
    let mut keyed: Vec<(String, &String)> = candidates
        .iter()
        .map(|c| {
            (
                hex::encode(Sha256::digest(format!("{seed}\n{c}").as_bytes())),
                c,
            )
        })
        .collect();
    keyed.sort();
    keyed.dedup_by(|a, b| a.1 == b.1);
    keyed.into_iter().take(k).map(|(_, c)| c.clone()).collect()
}

/// Re-runs a published draw and says whether it holds.
pub fn verify(
    candidates: &[String],
    published_list_hash: &str,
    published_commitment: &str,
    seed: &str,
    k: usize,
    result: &[String],
) -> Result<(), String> {
    if list_hash(candidates) != published_list_hash {
        return Err("the candidate list is not the one published".into());
    }
    if commitment(seed) != published_commitment {
        return Err("the seed does not match the published commitment".into());
    }
    let again = draw(candidates, seed, k);
    if again != result {
        return Err(format!(
            "re-running the draw gives {again:?}, not the published result"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_draw_verifies_and_any_change_is_caught(names in proptest::collection::btree_set("[a-z]{1,6}", 1..40), seed in "[0-9a-f]{64}", k in 1usize..10) {
            let list: Vec<String> = names.into_iter().collect();
            let result = draw(&list, &seed, k);
            prop_assert_eq!(result.len(), k.min(list.len()));
            prop_assert!(verify(&list, &list_hash(&list), &commitment(&seed), &seed, k, &result).is_ok());
            let other_seed = format!("{seed}0");
            prop_assert!(verify(&list, &list_hash(&list), &commitment(&seed), &other_seed, k, &result).is_err());
            let mut fewer = list.clone();
            fewer.pop();
            prop_assert!(verify(&fewer, &list_hash(&list), &commitment(&seed), &seed, k, &result).is_err());
        }
    }

    #[test]
    fn the_documented_example_holds() {
        let list: Vec<String> = ["张三", "李四", "王五", "赵六"].map(String::from).to_vec();
        let seed = "0000000000000000000000000000000000000000000000000000000000000001";
        let a = draw(&list, seed, 2);
        assert_eq!(a, draw(&list, seed, 2), "deterministic");
        assert_eq!(a.len(), 2);
    }
}
