//! Stories from verified pairs. Pure: the store loads a region of the pair
//! graph (every entry connected to the ones that changed), this decides the
//! partition, and the store writes it.
//!
//! A story is a connected component of verified pairs, with one guard
//! against chaining. Strong pairs (explicit evidence, or two texts that each
//! cover most of the other) join their entries outright: they cannot bridge
//! two articles. A part pair (an excerpt, a brief, an item carried in a
//! roundup, a version much shorter than the other) joins the shorter entry's
//! story to the longer entry's only when the longer text does not carry
//! other stories as well: a roundup carrying three briefs contains all three,
//! and must not make them one story. The decision is taken on the components
//! of the strong pairs, so it does not depend on the order entries arrived in.

use std::collections::{BTreeMap, HashMap};

use super::{title_similarity, Fingerprint, PairKind, TITLE_SIMILARITY};

/// A longer text that carries several stories joins the one that makes up at
/// least this share of it: a roundup led by one story, a full version whose
/// brief is most of it.
pub const DOMINANT_SHARE: f64 = 0.5;

/// A part shorter than this many words that is found in several unrelated
/// longer texts (a quoted statement, a short agency item quoted in several
/// articles) joins only the one it makes up most of, so that it cannot bridge
/// them. Briefs and excerpts at the start of their articles are longer, or
/// are leads, and join every version that carries them.
pub const SHORT_PART_WORDS: u32 = 150;

/// Parts of a longer text whose covered passages overlap this much (of the
/// smaller) carry the same article: an excerpt and a brief both cut from the
/// lead. A roundup's items cover disjoint passages.
pub const SAME_PASSAGE: f64 = 0.5;

/// A story's parts in a longer text: the story, its parts, what they cover.
type Passage = (usize, Vec<(usize, PairKind)>, Vec<u32>);

/// An entry of the region.
#[derive(Debug, Clone)]
pub struct Node {
    pub id: i64,
    /// A key that does not depend on arrival order (feed URL and entry key).
    pub stable: String,
    pub title: String,
    /// The user split it off: it stands alone.
    pub split: bool,
    /// Its fingerprint, when it is the longer side of a part pair.
    pub fingerprint: Option<Fingerprint>,
    pub words: u32,
}

/// A verified pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub a: i64,
    pub b: i64,
    pub kind: PairKind,
    /// The shorter entry of an excerpt or part pair.
    pub shorter: Option<i64>,
    /// Containment of the shorter text in the longer.
    pub containment: f64,
}

struct UnionFind {
    parent: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n).collect() }
    }
    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
            self.parent[hi] = lo;
        }
    }
}

/// The stories of a region: every node in exactly one group, each group's
/// ids sorted, groups ordered by their smallest stable key.
pub fn cluster(nodes: &[Node], pairs: &[Pair]) -> Vec<Vec<i64>> {
    let index: HashMap<i64, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let usable = |p: &Pair| -> Option<(usize, usize)> {
        let (a, b) = (*index.get(&p.a)?, *index.get(&p.b)?);
        (a != b && !nodes[a].split && !nodes[b].split).then_some((a, b))
    };
    let mut uf = UnionFind::new(nodes.len());
    for p in pairs.iter().filter(|p| p.kind.is_strong()) {
        if let Some((a, b)) = usable(p) {
            uf.union(a, b);
        }
    }
    // The components of the strong pairs: every part decision is taken on
    // them, then applied together.
    let comp: Vec<usize> = (0..nodes.len()).map(|i| uf.find(i)).collect();
    let mut comp_key: HashMap<usize, &str> = HashMap::new();
    for (i, c) in comp.iter().enumerate() {
        let k = comp_key.entry(*c).or_insert(nodes[i].stable.as_str());
        if nodes[i].stable.as_str() < *k {
            *k = nodes[i].stable.as_str();
        }
    }

    // Part pairs by their longer entry.
    let mut parts: BTreeMap<usize, Vec<(usize, PairKind)>> = BTreeMap::new();
    for p in pairs.iter().filter(|p| !p.kind.is_strong()) {
        let Some((a, b)) = usable(p) else { continue };
        let (short, long) = if p.shorter == Some(nodes[a].id) { (a, b) } else { (b, a) };
        parts.entry(long).or_default().push((short, p.kind));
    }

    /// A longer text's proposal to join the story of a part.
    struct Proposal {
        with: usize,
        share: f64,
        any_part: bool,
        words: u32,
    }
    let mut proposals: BTreeMap<usize, Vec<Proposal>> = BTreeMap::new();
    for (&long, ps) in &parts {
        let home = comp[long];
        let mut groups: BTreeMap<usize, Vec<(usize, PairKind)>> = BTreeMap::new();
        for &(short, kind) in ps {
            if comp[short] != home {
                groups.entry(comp[short]).or_default().push((short, kind));
            }
        }
        // What of the longer text each story's parts cover. Stories whose
        // parts cover the same passage (an excerpt and a brief, both cut
        // from the lead) carry the same article: they count as one here.
        let lfp = nodes[long].fingerprint.as_ref().filter(|f| !f.sample.is_empty());
        let groups: Vec<Passage> = groups
            .into_iter()
            .map(|(g, members)| {
                let mut covered: Vec<u32> = Vec::new();
                if let Some(lfp) = lfp {
                    for (s, _) in &members {
                        if let Some(sfp) = &nodes[*s].fingerprint {
                            covered.extend(lfp.shared_with(sfp));
                        }
                    }
                }
                covered.sort_unstable();
                covered.dedup();
                (g, members, covered)
            })
            .collect();
        let mut same = UnionFind::new(groups.len());
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                let (a, b) = (&groups[i].2, &groups[j].2);
                let common = a.iter().filter(|x| b.binary_search(x).is_ok()).count();
                let smaller = a.len().min(b.len());
                if smaller > 0 && common as f64 >= SAME_PASSAGE * smaller as f64 {
                    same.union(i, j);
                }
            }
        }
        let passages: Vec<usize> = (0..groups.len()).map(|i| same.find(i)).collect();
        let mut distinct = passages.clone();
        distinct.sort_unstable();
        distinct.dedup();
        let several = distinct.len() > 1;
        let total = lfp.map_or(1, |f| f.sample.len()) as f64;
        for (i, (group, members, _)) in groups.iter().enumerate() {
            // The share of the longer text covered by this passage's stories.
            let mut covered: Vec<u32> = Vec::new();
            let mut titled = false;
            for (j, (_, m, c)) in groups.iter().enumerate() {
                if passages[j] == passages[i] {
                    covered.extend(c);
                    titled |= m
                        .iter()
                        .any(|(s, _)| title_similarity(&nodes[long].title, &nodes[*s].title) >= TITLE_SIMILARITY);
                }
            }
            covered.sort_unstable();
            covered.dedup();
            let share = covered.len() as f64 / total;
            if !several || share >= DOMINANT_SHARE || titled {
                proposals.entry(*group).or_default().push(Proposal {
                    with: home,
                    share,
                    any_part: members.iter().any(|(_, k)| *k == PairKind::Part),
                    words: members.iter().map(|(s, _)| nodes[*s].words).max().unwrap_or(0),
                });
            }
        }
    }
    for (group, props) in proposals {
        let mut homes: Vec<usize> = props.iter().map(|p| p.with).collect();
        homes.sort_unstable();
        homes.dedup();
        let short_quote =
            props.iter().any(|p| p.any_part) && props.iter().map(|p| p.words).max().unwrap_or(0) < SHORT_PART_WORDS;
        if homes.len() > 1 && short_quote {
            // A short text inside several unrelated articles joins only the
            // one it makes up most of.
            let best = props
                .iter()
                .max_by(|x, y| x.share.total_cmp(&y.share).then_with(|| comp_key[&y.with].cmp(comp_key[&x.with])))
                .expect("proposals are never empty");
            uf.union(group, best.with);
        } else {
            for h in homes {
                uf.union(group, h);
            }
        }
    }

    let mut stories: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        let root = if n.split { i } else { uf.find(i) };
        stories.entry(root).or_default().push(i);
    }
    let mut out: Vec<(String, Vec<i64>)> = stories
        .into_values()
        .map(|members| {
            let key = members.iter().map(|i| nodes[*i].stable.clone()).min().unwrap_or_default();
            let mut ids: Vec<i64> = members.iter().map(|i| nodes[*i].id).collect();
            ids.sort_unstable();
            (key, ids)
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, ids)| ids).collect()
}

#[cfg(test)]
mod tests;
