//! Placement: which mesh position each core takes, keeping traffic x hops low.
//!
//! The heuristic, in two steps:
//! 1. **Compact serpentine.** Cores in logical order (layer by layer, each layer in partition
//!    order) follow a boustrophedon path over a block of the mesh about as wide as it is tall
//!    (`width = ceil(sqrt(cores))`, at most the mesh's columns), so consecutive cores, and the
//!    end of one layer and the start of the next, are neighbours, and no core is further from
//!    the others than the block's diameter.
//! 2. **Pairwise swaps.** Then, for a bounded number of sweeps, every pair of positions in the
//!    block (used or free) is swapped when that lowers the cost; sweeps stop when one finds no
//!    improvement.
//!
//! The cost is the sum over core pairs of `traffic(a, b) * hops(a, b)`, `hops` the Manhattan
//! distance that XY routing travels, `traffic(a, b)` the expected packets from core `a` to core
//! `b` per inference: the number of `a`'s neurons routed to `b`, each weighted by its firing
//! probability when calibration data measured it (else 1). Input spikes come from the host
//! straight into a core's queue and do not cross the mesh, so they do not enter the cost.

use ttfs_runtime::config::MeshPosition;

/// Traffic between logical cores: `edges[a]` lists `(b, packets)` for the cores `a` sends to.
pub type Traffic = Vec<Vec<(usize, f64)>>;

/// Manhattan distance between two mesh positions: the hops of an XY-routed packet.
pub fn hops(a: MeshPosition, b: MeshPosition) -> u32 {
    a.x.abs_diff(b.x) + a.y.abs_diff(b.y)
}

/// Total traffic x hops of a placement.
pub fn cost(traffic: &Traffic, positions: &[MeshPosition]) -> f64 {
    traffic
        .iter()
        .enumerate()
        .flat_map(|(a, edges)| {
            edges
                .iter()
                .map(move |&(b, packets)| packets * f64::from(hops(positions[a], positions[b])))
        })
        .sum()
}

/// Row-major placement (core `i` at `(i % cols, i / cols)`): the naive baseline the report
/// compares against.
pub fn row_major(cores: usize, cols: u32) -> Vec<MeshPosition> {
    (0..cores as u32)
        .map(|i| MeshPosition {
            x: i % cols,
            y: i / cols,
        })
        .collect()
}

/// The block of the mesh the serpentine fills: `(width, height)`.
fn block(cores: usize, cols: u32, rows: u32) -> (u32, u32) {
    let mut width = ((cores as f64).sqrt().ceil() as u32).clamp(1, cols);
    let mut height = (cores as u32).div_ceil(width);
    if height > rows {
        height = rows;
        width = (cores as u32).div_ceil(rows).min(cols);
    }
    (width, height)
}

/// The compact serpentine placement of step 1.
pub fn serpentine(cores: usize, cols: u32, rows: u32) -> Vec<MeshPosition> {
    let (width, _) = block(cores, cols, rows);
    (0..cores as u32)
        .map(|i| {
            let y = i / width;
            let along = i % width;
            let x = if y % 2 == 0 { along } else { width - 1 - along };
            MeshPosition { x, y }
        })
        .collect()
}

/// Step 2: improves `positions` by pairwise swaps within the serpentine's block (at most
/// `sweeps` sweeps); returns the number of swaps made.
pub fn improve(
    traffic: &Traffic,
    positions: &mut [MeshPosition],
    cols: u32,
    rows: u32,
    sweeps: usize,
) -> usize {
    let n = positions.len();
    // Undirected neighbour lists with weights, for the cost of one core's links.
    let mut links: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (a, edges) in traffic.iter().enumerate() {
        for &(b, w) in edges {
            if a != b {
                links[a].push((b, w));
                links[b].push((a, w));
            }
        }
    }
    let (width, height) = block(n, cols, rows);
    let mut slots: Vec<Option<usize>> = vec![None; (width * height) as usize];
    for (core, p) in positions.iter().enumerate() {
        slots[(p.y * width + p.x) as usize] = Some(core);
    }
    let slot_pos = |s: usize| MeshPosition {
        x: s as u32 % width,
        y: s as u32 / width,
    };
    let link_cost = |core: usize, at: MeshPosition, positions: &[MeshPosition], skip: usize| {
        links[core]
            .iter()
            .filter(|&&(other, _)| other != skip)
            .map(|&(other, w)| w * f64::from(hops(at, positions[other])))
            .sum::<f64>()
    };
    let mut swaps = 0;
    for _ in 0..sweeps {
        let mut improved = false;
        for s1 in 0..slots.len() {
            for s2 in s1 + 1..slots.len() {
                let (a, b) = (slots[s1], slots[s2]);
                if a.is_none() && b.is_none() {
                    continue;
                }
                let (p1, p2) = (slot_pos(s1), slot_pos(s2));
                // Links between a and b keep their length under a swap, so skip them.
                let before = a.map_or(0.0, |a| link_cost(a, p1, positions, b.unwrap_or(n)))
                    + b.map_or(0.0, |b| link_cost(b, p2, positions, a.unwrap_or(n)));
                let after = a.map_or(0.0, |a| link_cost(a, p2, positions, b.unwrap_or(n)))
                    + b.map_or(0.0, |b| link_cost(b, p1, positions, a.unwrap_or(n)));
                if after + 1e-9 < before {
                    if let Some(a) = a {
                        positions[a] = p2;
                    }
                    if let Some(b) = b {
                        positions[b] = p1;
                    }
                    slots.swap(s1, s2);
                    swaps += 1;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    swaps
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn serpentine_turns_at_the_block_edge() {
        // 5 cores: block width ceil(sqrt 5) = 3.
        let p = serpentine(5, 8, 8);
        let xy: Vec<(u32, u32)> = p.iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(xy, vec![(0, 0), (1, 0), (2, 0), (2, 1), (1, 1)]);
    }

    #[test]
    fn serpentine_respects_a_short_mesh() {
        // 6 cores on a 8 x 1 mesh: one row of 6.
        let p = serpentine(6, 8, 1);
        assert!(p.iter().all(|p| p.y == 0));
        assert_eq!(p[5].x, 5);
    }

    #[test]
    fn swaps_bring_talking_cores_together() {
        // Core 0 talks only to core 3; in a 2x2 serpentine they sit at (0,0) and (0,1) already
        // adjacent, so put them diagonally and let the swaps fix it.
        let traffic: Traffic = vec![vec![(3, 10.0)], vec![], vec![], vec![]];
        let mut pos = vec![
            MeshPosition { x: 0, y: 0 },
            MeshPosition { x: 0, y: 1 },
            MeshPosition { x: 1, y: 0 },
            MeshPosition { x: 1, y: 1 },
        ];
        assert_eq!(cost(&traffic, &pos), 20.0);
        let swaps = improve(&traffic, &mut pos, 2, 2, 4);
        assert!(swaps >= 1);
        assert_eq!(cost(&traffic, &pos), 10.0);
        let mut unique = pos.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 4, "still one core per position");
    }
}
