//! Winners of a participatory budget (民生微实事) call from approval ballots, computed — never
//! picked by hand — by one of two rules:
//!
//! * **Greedy approval**: projects by most votes (ties: lower cost, then project id); a project
//!   that no longer fits the remaining budget is skipped and the next one tried.
//! * **Method of Equal Shares** (Peters & Skowron), approval ballots with cost utilities: the
//!   budget is split equally among the voters; in each round the project whose supporters can
//!   pay for it with the lowest maximal per-voter payment ρ·cost is bought (ties: lower cost,
//!   then project id), each supporter paying min(their remaining share, ρ·cost); it stops when
//!   no project is affordable by its supporters. The leftover budget can then be completed by
//!   `Add1` (raise every voter's share by one currency unit and rerun, keeping the last outcome
//!   within the budget) and/or `Greedy` (fill with greedy approval).
//!
//! Money is in whole currency units (yuan); shares and payments are real numbers compared with
//! a relative tolerance of 1e-9, so that ties in exact arithmetic are ties here too.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub id: String,
    pub cost: i64,
}

/// How Equal Shares spends what its rounds leave (a closed set of the call, in `model`).
pub use crate::model::Completion;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "rule")]
pub enum Rule {
    Greedy,
    EqualShares { completion: Completion },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectResult {
    pub id: String,
    pub cost: i64,
    pub votes: usize,
    pub won: bool,
    /// Why it won or lost, in words a resident can check.
    pub reason: String,
    /// The same, in Chinese (the pages speak Chinese first).
    pub reason_zh: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// Winners in the order they were chosen.
    pub winners: Vec<String>,
    pub spent: i64,
    pub budget: i64,
    /// Every project, in the input order.
    pub projects: Vec<ProjectResult>,
}

const EPS: f64 = 1e-9;

/// Why a project won or lost: in English and in Chinese.
type Why = (String, String);

fn no_votes() -> Why {
    ("no votes".into(), "没有得票".into())
}

fn votes_of(projects: &[Project], ballots: &[Vec<usize>]) -> Vec<usize> {
    let mut votes = vec![0; projects.len()];
    for b in ballots {
        for &p in b {
            if p < projects.len() {
                votes[p] += 1;
            }
        }
    }
    votes
}

/// Computes the winners by `rule`. Ballots are lists of approved project indices (repeats and
/// unknown indices are ignored, so a ballot counts at most once per project).
pub fn winners(budget: i64, projects: &[Project], ballots: &[Vec<usize>], rule: Rule) -> Outcome {
    let ballots: Vec<Vec<usize>> = ballots
        .iter()
        .map(|b| {
            let mut b: Vec<usize> = b.iter().copied().filter(|&p| p < projects.len()).collect();
            b.sort_unstable();
            b.dedup();
            b
        })
        .collect();
    match rule {
        Rule::Greedy => greedy(budget, projects, &ballots, &[], ("greedy", "按票数")),
        Rule::EqualShares { completion } => equal_shares(budget, projects, &ballots, completion),
    }
}

/// Greedy approval over the projects not in `chosen`, with the budget they left.
fn greedy(
    budget: i64,
    projects: &[Project],
    ballots: &[Vec<usize>],
    chosen: &[usize],
    stage: (&str, &str),
) -> Outcome {
    let votes = votes_of(projects, ballots);
    let mut order: Vec<usize> = (0..projects.len()).collect();
    order.sort_by(|&a, &b| {
        votes[b]
            .cmp(&votes[a])
            .then(projects[a].cost.cmp(&projects[b].cost))
            .then(projects[a].id.cmp(&projects[b].id))
    });
    let mut won: Vec<usize> = chosen.to_vec();
    let mut spent: i64 = chosen.iter().map(|&p| projects[p].cost).sum();
    let (stage, stage_zh) = stage;
    let mut reasons: Vec<Option<Why>> = vec![None; projects.len()];
    for &p in &order {
        if won.contains(&p) {
            continue;
        }
        let left = budget - spent;
        let (v, c) = (votes[p], projects[p].cost);
        if v == 0 {
            reasons[p] = Some(no_votes());
        } else if c <= left {
            spent += c;
            won.push(p);
            reasons[p] = Some((
                format!("{stage}: {v} votes, cost {c} fits the {left} left"),
                format!("{stage_zh}：{v} 票，费用 {c} 元，不超过剩余预算 {left} 元"),
            ));
        } else {
            reasons[p] = Some((
                format!("{stage}: {v} votes, cost {c} exceeds the {left} left"),
                format!("{stage_zh}：{v} 票，费用 {c} 元，超过剩余预算 {left} 元"),
            ));
        }
    }
    outcome(budget, projects, &votes, &won, reasons)
}

fn outcome(
    budget: i64,
    projects: &[Project],
    votes: &[usize],
    won: &[usize],
    reasons: Vec<Option<Why>>,
) -> Outcome {
    Outcome {
        winners: won.iter().map(|&p| projects[p].id.clone()).collect(),
        spent: won.iter().map(|&p| projects[p].cost).sum(),
        budget,
        projects: projects
            .iter()
            .enumerate()
            .map(|(i, p)| ProjectResult {
                id: p.id.clone(),
                cost: p.cost,
                votes: votes[i],
                won: won.contains(&i),
                reason: reasons[i].clone().unwrap_or_default().0,
                reason_zh: reasons[i].clone().unwrap_or_default().1,
            })
            .collect(),
    }
}

/// One run of Equal Shares with every voter starting with `share`; the projects bought in order,
/// with the ρ each was bought at.
fn mes_run(
    share: f64,
    projects: &[Project],
    supporters: &[Vec<usize>],
    voters: usize,
) -> Vec<(usize, f64)> {
    let mut balance = vec![share; voters];
    let mut bought: Vec<(usize, f64)> = Vec::new();
    let mut available: Vec<usize> = (0..projects.len())
        .filter(|&p| projects[p].cost > 0 || !supporters[p].is_empty())
        .collect();
    let mut scratch: Vec<f64> = Vec::new();
    loop {
        let mut best: Option<(usize, f64)> = None;
        available.retain(|&p| {
            let cost = projects[p].cost as f64;
            let total: f64 = supporters[p].iter().map(|&v| balance[v]).sum();
            if total + EPS * cost.max(1.0) < cost || supporters[p].is_empty() {
                return false; // never affordable again: balances only shrink
            }
            // The smallest per-voter payment α with Σ min(balance, α) = cost.
            scratch.clear();
            scratch.extend(supporters[p].iter().map(|&v| balance[v]));
            scratch.sort_by(|a, b| a.total_cmp(b));
            let mut paid = 0.0;
            let mut alpha = 0.0;
            let n = scratch.len();
            for (k, &b) in scratch.iter().enumerate() {
                let need = (cost - paid) / (n - k) as f64;
                if b + EPS * need.max(1.0) >= need {
                    alpha = need;
                    break;
                }
                paid += b;
                alpha = b;
            }
            let rho = if cost > 0.0 { alpha / cost } else { 0.0 };
            let better = match best {
                None => true,
                Some((q, r)) => {
                    let tol = EPS * r.abs().max(rho.abs()).max(1e-12);
                    rho < r - tol
                        || ((rho - r).abs() <= tol
                            && (projects[p].cost, &projects[p].id)
                                < (projects[q].cost, &projects[q].id))
                }
            };
            if better {
                best = Some((p, rho));
            }
            true
        });
        let Some((p, rho)) = best else { break };
        let pay = rho * projects[p].cost as f64;
        for &v in &supporters[p] {
            balance[v] = (balance[v] - pay.min(balance[v])).max(0.0);
        }
        bought.push((p, rho));
        available.retain(|&q| q != p);
    }
    bought
}

fn equal_shares(
    budget: i64,
    projects: &[Project],
    ballots: &[Vec<usize>],
    completion: Completion,
) -> Outcome {
    let votes = votes_of(projects, ballots);
    let voters = ballots.len();
    let mut supporters: Vec<Vec<usize>> = vec![Vec::new(); projects.len()];
    for (v, b) in ballots.iter().enumerate() {
        for &p in b {
            supporters[p].push(v);
        }
    }
    if voters == 0 {
        return outcome(
            budget,
            projects,
            &votes,
            &[],
            vec![Some(("no ballots".into(), "没有选票".into())); projects.len()],
        );
    }
    let base = budget as f64 / voters as f64;
    let mut run = mes_run(base, projects, &supporters, voters);
    let mut stage = "equal shares".to_string();
    let mut stage_zh = "平等份额法".to_string();
    if matches!(completion, Completion::Add1 | Completion::Add1ThenGreedy) {
        // Raise every share by one unit while the outcome stays within the real budget.
        // Once one voter's share covers the dearest project, more money changes nothing.
        let dearest = projects.iter().map(|p| p.cost).max().unwrap_or(0) as f64;
        let mut extra = 1.0;
        while base + extra <= dearest + 1.0 {
            let next = mes_run(base + extra, projects, &supporters, voters);
            let cost: i64 = next.iter().map(|&(p, _)| projects[p].cost).sum();
            if cost > budget {
                break;
            }
            if next.len() > run.len() || cost > run.iter().map(|&(p, _)| projects[p].cost).sum() {
                stage = format!("equal shares with each voter's share raised by {extra}");
                stage_zh = format!("平等份额法（每位投票人的份额增加 {extra} 元）");
            }
            run = next;
            extra += 1.0;
        }
    }
    let chosen: Vec<usize> = run.iter().map(|&(p, _)| p).collect();
    let mut reasons: Vec<Option<Why>> = vec![None; projects.len()];
    for (round, &(p, rho)) in run.iter().enumerate() {
        let (r, v, pay) = (round + 1, votes[p], rho * projects[p].cost as f64);
        reasons[p] = Some((
            format!(
                "{stage}: bought in round {r} by its {v} supporters, each paying at most {pay:.2}"
            ),
            format!("{stage_zh}：第 {r} 轮由 {v} 位支持者出资入选，每人最多出 {pay:.2} 元"),
        ));
    }
    let share = budget as f64 / voters as f64;
    for p in 0..projects.len() {
        if reasons[p].is_none() {
            let (v, c) = (votes[p], projects[p].cost);
            reasons[p] = Some(if v == 0 {
                no_votes()
            } else {
                (
                    format!("equal shares: its {v} supporters could not pay {c} from their shares ({share:.2} each at the start)"),
                    format!("平等份额法：{v} 位支持者的份额（起初每人 {share:.2} 元）不足以支付 {c} 元"),
                )
            });
        }
    }
    if matches!(completion, Completion::Greedy | Completion::Add1ThenGreedy) {
        let mut out = greedy(
            budget,
            projects,
            ballots,
            &chosen,
            ("completed greedily", "余额按票数补充"),
        );
        // Projects bought by Equal Shares keep that reason; the others carry the completion's.
        for (i, r) in out.projects.iter_mut().enumerate() {
            if chosen.contains(&i) {
                (r.reason, r.reason_zh) = reasons[i].clone().unwrap_or_default();
            }
        }
        return out;
    }
    outcome(budget, projects, &votes, &chosen, reasons)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(id: &str, cost: i64) -> Project {
        Project {
            id: id.into(),
            cost,
        }
    }

    #[test]
    fn greedy_skips_what_no_longer_fits_and_breaks_ties_by_cost_then_id() {
        let projects = [p("a", 60), p("b", 50), p("c", 30), p("d", 30)];
        // a: 3 votes, b: 2, c: 2, d: 2 → a, then c and d (cheaper than b; c before d by id)
        let ballots = vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3], vec![0]];
        let o = winners(100, &projects, &ballots, Rule::Greedy);
        assert_eq!(o.winners, ["a", "c"]);
        assert_eq!(o.spent, 90);
        assert!(o.projects[1].reason.contains("exceeds"));
    }

    #[test]
    fn equal_shares_gives_a_minority_its_proportional_part() {
        // 60 voters want x-projects, 40 want y-projects; each project costs 20, budget 100.
        let projects: Vec<Project> = (0..5)
            .map(|i| p(&format!("x{i}"), 20))
            .chain((0..5).map(|i| p(&format!("y{i}"), 20)))
            .collect();
        let mut ballots = vec![vec![0, 1, 2, 3, 4]; 60];
        ballots.extend(vec![vec![5, 6, 7, 8, 9]; 40]);
        let g = winners(100, &projects, &ballots, Rule::Greedy);
        assert!(
            g.winners.iter().all(|w| w.starts_with('x')),
            "greedy gives the majority everything"
        );
        let m = winners(
            100,
            &projects,
            &ballots,
            Rule::EqualShares {
                completion: Completion::None,
            },
        );
        let ys = m.winners.iter().filter(|w| w.starts_with('y')).count();
        assert_eq!((m.winners.len() - ys, ys), (3, 2), "{:?}", m.winners);
    }

    #[test]
    fn completion_spends_what_equal_shares_leaves() {
        let projects = [p("a", 70), p("b", 50), p("c", 40)];
        let ballots = vec![vec![0], vec![0], vec![1, 2], vec![2]];
        let plain = winners(
            120,
            &projects,
            &ballots,
            Rule::EqualShares {
                completion: Completion::None,
            },
        );
        let full = winners(
            120,
            &projects,
            &ballots,
            Rule::EqualShares {
                completion: Completion::Add1ThenGreedy,
            },
        );
        assert!(full.spent >= plain.spent);
        assert!(full.spent <= 120);
    }

    fn instance() -> impl Strategy<Value = (i64, Vec<Project>, Vec<Vec<usize>>)> {
        (1usize..8, 1i64..500).prop_flat_map(|(n, budget)| {
            (
                Just(budget),
                proptest::collection::vec(1i64..300, n).prop_map(|costs| {
                    costs
                        .into_iter()
                        .enumerate()
                        .map(|(i, c)| p(&format!("p{i:02}"), c))
                        .collect::<Vec<_>>()
                }),
                proptest::collection::vec(proptest::collection::vec(0..n, 0..n + 1), 0..30),
            )
        })
    }

    proptest! {
        #[test]
        fn every_rule_stays_within_the_budget_and_explains_every_project((budget, projects, ballots) in instance()) {
            for rule in [Rule::Greedy, Rule::EqualShares { completion: Completion::None }, Rule::EqualShares { completion: Completion::Greedy }, Rule::EqualShares { completion: Completion::Add1ThenGreedy }] {
                let o = winners(budget, &projects, &ballots, rule);
                prop_assert!(o.spent <= budget, "{rule:?} overspent");
                prop_assert_eq!(o.spent, o.projects.iter().filter(|r| r.won).map(|r| r.cost).sum::<i64>());
                prop_assert!(o.projects.iter().all(|r| !r.reason.is_empty() && !r.reason_zh.is_empty()));
                let mut w = o.winners.clone();
                w.sort();
                w.dedup();
                prop_assert_eq!(w.len(), o.winners.len(), "no project wins twice");
            }
        }

        #[test]
        fn greedy_is_exhaustive((budget, projects, ballots) in instance()) {
            let o = winners(budget, &projects, &ballots, Rule::Greedy);
            // Any voted-for project that lost does not fit the money left.
            for r in o.projects.iter().filter(|r| !r.won && r.votes > 0) {
                prop_assert!(r.cost > budget - o.spent);
            }
        }

        #[test]
        fn equal_shares_winners_were_affordable_by_their_supporters((budget, projects, ballots) in instance()) {
            let o = winners(budget, &projects, &ballots, Rule::EqualShares { completion: Completion::None });
            let n = ballots.len().max(1) as f64;
            for r in o.projects.iter().filter(|r| r.won) {
                // Supporters hold at most votes × budget/n between them.
                prop_assert!(r.cost as f64 <= r.votes as f64 * budget as f64 / n + 1e-6);
            }
        }

        #[test]
        fn ballot_order_and_repeats_do_not_matter((budget, projects, ballots) in instance()) {
            let shuffled: Vec<Vec<usize>> = ballots.iter().rev().map(|b| { let mut b = b.clone(); b.reverse(); b.extend(b.clone()); b }).collect();
            for rule in [Rule::Greedy, Rule::EqualShares { completion: Completion::Greedy }] {
                let a = winners(budget, &projects, &ballots, rule);
                let b = winners(budget, &projects, &shuffled, rule);
                let (mut wa, mut wb) = (a.winners.clone(), b.winners.clone());
                wa.sort(); wb.sort();
                prop_assert_eq!(wa, wb);
            }
        }
    }
}
