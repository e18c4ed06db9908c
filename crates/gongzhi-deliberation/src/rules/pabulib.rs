//! A call in the Pabulib format (pabulib.org: `META`, `PROJECTS`, `VOTES` sections, `;`-separated),
//! so that anyone can recompute the winners with their own tools. Voters are anonymised: numbered
//! 1…n in an order that reveals nothing (sorted by their ballots).

use crate::rules::pb::{Project, Rule};

pub struct Call<'a> {
    pub description: &'a str,
    pub unit: &'a str,
    pub budget: i64,
    pub rule: Rule,
    /// Approval: at most this many projects per ballot (`None`: any number within the budget).
    pub max_approvals: Option<usize>,
    pub projects: &'a [(Project, String)],
    pub ballots: &'a [Vec<usize>],
}

fn clean(s: &str) -> String {
    s.replace([';', '\n', '\r'], " ")
}

pub fn export(c: &Call) -> String {
    let mut out = String::from("META\nkey;value\n");
    let rule = match c.rule {
        Rule::Greedy => "greedy",
        Rule::EqualShares { .. } => "equalshares",
    };
    let mut meta = vec![
        ("description", clean(c.description)),
        ("country", "China".into()),
        ("unit", clean(c.unit)),
        ("num_projects", c.projects.len().to_string()),
        ("num_votes", c.ballots.len().to_string()),
        ("budget", c.budget.to_string()),
        ("vote_type", "approval".into()),
        ("rule", rule.into()),
    ];
    if let Some(m) = c.max_approvals {
        meta.push(("max_length", m.to_string()));
    } else {
        // A knapsack ballot: any set of projects whose costs fit the budget.
        meta.push(("max_sum_cost", c.budget.to_string()));
    }
    // How to recompute exactly: Equal Shares with cost utilities and this completion.
    if let Rule::EqualShares { completion } = c.rule {
        meta.push(("utilities", "cost".into()));
        meta.push(("completion", completion.as_str().into()));
    }
    for (k, v) in meta {
        out.push_str(&format!("{k};{v}\n"));
    }
    let mut votes = vec![0usize; c.projects.len()];
    let mut ballots: Vec<Vec<String>> = c
        .ballots
        .iter()
        .map(|b| {
            let mut ids: Vec<usize> = b
                .iter()
                .copied()
                .filter(|&p| p < c.projects.len())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.iter().for_each(|&p| votes[p] += 1);
            ids.iter().map(|&p| clean(&c.projects[p].0.id)).collect()
        })
        .collect();
    ballots.sort();
    out.push_str("PROJECTS\nproject_id;cost;votes;name\n");
    for (i, (p, name)) in c.projects.iter().enumerate() {
        out.push_str(&format!(
            "{};{};{};{}\n",
            clean(&p.id),
            p.cost,
            votes[i],
            clean(name)
        ));
    }
    out.push_str("VOTES\nvoter_id;vote\n");
    for (i, b) in ballots.iter().enumerate() {
        out.push_str(&format!("{};{}\n", i + 1, b.join(",")));
    }
    out
}

/// Reads back a Pabulib approval file: budget, projects and ballots (for recomputation).
pub fn parse(text: &str) -> Result<(i64, Vec<Project>, Vec<Vec<usize>>), String> {
    let mut section = "";
    let mut budget = None;
    let mut projects: Vec<Project> = Vec::new();
    let mut ballots = Vec::new();
    let mut header = true;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if matches!(line, "META" | "PROJECTS" | "VOTES") {
            section = line;
            header = true;
            continue;
        }
        if header {
            header = false;
            continue;
        }
        let cols: Vec<&str> = line.split(';').collect();
        let bad = |what: &str| format!("line {}: {what}", n + 1);
        match section {
            "META" if cols.first() == Some(&"budget") => {
                budget = Some(
                    cols.get(1)
                        .and_then(|v| v.parse::<f64>().ok())
                        .ok_or_else(|| bad("budget"))? as i64,
                )
            }
            "PROJECTS" => projects.push(Project {
                id: cols.first().ok_or_else(|| bad("project id"))?.to_string(),
                cost: cols
                    .get(1)
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| bad("cost"))?,
            }),
            "VOTES" => {
                let vote = cols.get(1).ok_or_else(|| bad("vote"))?;
                let b: Result<Vec<usize>, String> = vote
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|id| {
                        projects
                            .iter()
                            .position(|p| p.id == id)
                            .ok_or_else(|| bad("unknown project"))
                    })
                    .collect();
                ballots.push(b?);
            }
            _ => {}
        }
    }
    Ok((budget.ok_or("no budget in META")?, projects, ballots))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::pb::{winners, Completion};

    #[test]
    fn export_then_parse_gives_the_same_winners() {
        let projects: Vec<(Project, String)> = (0..6)
            .map(|i| {
                (
                    Project {
                        id: format!("p{i}"),
                        cost: 10 + 7 * i,
                    },
                    format!("项目;{i}"),
                )
            })
            .collect();
        let ballots = vec![vec![0, 1], vec![2], vec![2, 3, 5], vec![4, 0], vec![5]];
        let rule = Rule::EqualShares {
            completion: Completion::Greedy,
        };
        let text = export(&Call {
            description: "东城区",
            unit: "多福巷社区",
            budget: 60,
            rule,
            max_approvals: None,
            projects: &projects,
            ballots: &ballots,
        });
        assert!(text.contains("项目 0"), "separators in names are cleaned");
        let (budget, ps, bs) = parse(&text).unwrap();
        let plain: Vec<Project> = projects.iter().map(|(p, _)| p.clone()).collect();
        assert_eq!(
            winners(budget, &ps, &bs, rule).winners,
            winners(60, &plain, &ballots, rule).winners
        );
    }
}
