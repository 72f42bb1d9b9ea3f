//! The design-space rule: which points of an exploration another point beats on both accuracy
//! and energy. The CLI's `explore` and the Python package's `ttfs.explore` mark points by it.

/// For each point's `(accuracy, energy)` (`None`: a refused point, without figures), whether
/// another scored point is at least as accurate and at most as costly, and strictly better in
/// one of the two. A refused point is never dominated.
pub fn dominated(scores: &[Option<(f64, f64)>]) -> Vec<bool> {
    scores
        .iter()
        .enumerate()
        .map(|(i, score)| {
            score.is_some_and(|(acc, energy)| {
                scores.iter().enumerate().any(|(j, other)| {
                    j != i
                        && other.is_some_and(|(a, e)| {
                            a >= acc && e <= energy && (a > acc || e < energy)
                        })
                })
            })
        })
        .collect()
}
