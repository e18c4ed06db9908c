//! The Method of Equal Shares and greedy approval on generated ballots.

use std::path::Path;

use gongzhi_core::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::report::{machine, median, write_section};

/// `gongzhi-bench mes`: winners of a generated call (costs 10,000–500,000 yuan, budget a third
/// of the total, each voter approving 1–10 projects with popularity skewed) by each rule.
pub fn mes(projects: usize, voters: usize, output: &Path) -> Result<()> {
    use gongzhi_deliberation::pb::{winners, Completion, Project, Rule};
    let mut rng = StdRng::seed_from_u64(7);
    let ps: Vec<Project> = (0..projects)
        .map(|i| Project {
            id: format!("p{i:03}"),
            cost: rng.gen_range(10..=500) * 1000,
        })
        .collect();
    let budget = ps.iter().map(|p| p.cost).sum::<i64>() / 3;
    let ballots: Vec<Vec<usize>> = (0..voters)
        .map(|_| {
            let n = rng.gen_range(1..=10usize.min(projects));
            // Squaring a uniform number favours low indices: some projects are popular.
            (0..n)
                .map(|_| ((rng.gen::<f64>().powi(2)) * projects as f64) as usize)
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    for (name, rule) in [
        ("greedy", Rule::Greedy),
        (
            "equal shares",
            Rule::EqualShares {
                completion: Completion::None,
            },
        ),
        (
            "equal shares + greedy completion",
            Rule::EqualShares {
                completion: Completion::Greedy,
            },
        ),
    ] {
        let mut times = Vec::new();
        let mut won = 0;
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let o = winners(budget, &ps, &ballots, rule);
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            won = o.winners.len();
        }
        let ms = median(times);
        eprintln!("  {name}: {ms:.0} ms, {won} winners");
        rows.push(format!("| {name} | {ms:.0} | {won} |"));
    }
    let body = format!(
        "## Participatory budget winners\n\n\
         Command: `gongzhi-bench mes` (release build). Machine: {}. Date: {}.\n\
         {projects} projects, {voters} approval ballots (1–10 projects each, skewed popularity), budget a third of the total cost; \
         median of 3 runs, one thread. Target: the Method of Equal Shares for 100 projects and 100,000 voters.\n\n\
         | rule | ms | winners |\n|---|---:|---:|\n{}\n",
        machine(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        rows.join("\n")
    );
    write_section(output, "mes", &body)
}
