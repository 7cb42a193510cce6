use super::*;

fn fp(range: std::ops::Range<u32>) -> Fingerprint {
    let sample: Vec<u32> = range.collect();
    Fingerprint {
        shingles: sample.len() as u32,
        full: true,
        words: sample.len() as u32 + 4,
        sample,
        ..Fingerprint::default()
    }
}

fn node(id: i64, title: &str, text: std::ops::Range<u32>) -> Node {
    let f = fp(text);
    Node { id, stable: format!("k{id:03}"), title: title.into(), split: false, words: f.words, fingerprint: Some(f) }
}

fn pair(a: i64, b: i64, kind: PairKind) -> Pair {
    Pair { a, b, kind, shorter: None, containment: 1.0 }
}

fn part(short: i64, long: i64, kind: PairKind) -> Pair {
    Pair { a: short.min(long), b: short.max(long), kind, shorter: Some(short), containment: 0.9 }
}

fn groups(nodes: &[Node], pairs: &[Pair]) -> Vec<Vec<i64>> {
    // The result must not depend on the order nodes and pairs are given in.
    let a = cluster(nodes, pairs);
    let mut rn = nodes.to_vec();
    rn.reverse();
    let mut rp = pairs.to_vec();
    rp.reverse();
    assert_eq!(a, cluster(&rn, &rp), "order changed the stories");
    let mut out: Vec<Vec<i64>> = a.into_iter().filter(|g| g.len() > 1).collect();
    out.sort();
    out
}

#[test]
fn strong_pairs_chain_into_one_story() {
    let nodes = [node(1, "A", 0..300), node(2, "A2", 0..300), node(3, "A3", 0..300), node(4, "B", 500..800)];
    let pairs = [pair(1, 2, PairKind::Same), pair(2, 3, PairKind::Link)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 2, 3]]);
}

#[test]
fn a_roundup_does_not_chain_the_briefs_it_carries() {
    // Roundup 10 carries briefs 1, 2, 3 (each also run elsewhere: 11, 12, 13).
    let nodes = [
        node(10, "The Latest: floods, budget and cricket", 0..300),
        node(1, "Floods kill 12", 0..100),
        node(11, "Flooding kills a dozen", 0..100),
        node(2, "Budget passed", 100..200),
        node(12, "Assembly passes budget", 100..200),
        node(3, "Pakistan win series", 200..300),
    ];
    let pairs = [
        pair(1, 11, PairKind::Same),
        pair(2, 12, PairKind::Same),
        part(1, 10, PairKind::Excerpt),
        part(11, 10, PairKind::Excerpt),
        part(2, 10, PairKind::Part),
        part(12, 10, PairKind::Part),
        part(3, 10, PairKind::Part),
    ];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 11], vec![2, 12]]);
}

#[test]
fn a_roundup_mostly_about_one_story_joins_it() {
    let nodes =
        [node(10, "Live: floods", 0..300), node(1, "Floods kill 12", 0..200), node(2, "Budget passed", 200..260)];
    let pairs = [part(1, 10, PairKind::Excerpt), part(2, 10, PairKind::Part)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 10]]);
}

#[test]
fn a_brief_joins_the_full_version_and_its_versions() {
    let nodes = [
        node(1, "Corridor deal signed", 0..1000),
        node(2, "China, Pakistan sign corridor deal", 50..1000),
        node(3, "Deal signed (brief)", 0..250),
    ];
    let pairs = [pair(1, 2, PairKind::Same), part(3, 1, PairKind::Part), part(3, 2, PairKind::Part)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 2, 3]]);
}

#[test]
fn a_short_quote_found_in_two_articles_does_not_bridge_them() {
    let mut quote = node(3, "Statement", 0..60);
    quote.words = 80;
    let mut two = node(2, "Report two", 0..1);
    two.fingerprint = Some(Fingerprint {
        sample: (0..60).chain(1000..1100).collect(),
        shingles: 160,
        full: true,
        ..Fingerprint::default()
    });
    let nodes = [node(1, "Report one", 0..400), two, quote];
    let pairs = [part(3, 1, PairKind::Part), part(3, 2, PairKind::Part)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![2, 3]], "the quote joins the article it is most of");
}

#[test]
fn an_excerpt_joins_every_version_that_starts_with_it() {
    let nodes = [node(1, "Version one", 0..800), node(2, "Version two", 0..500), node(3, "Other title", 0..50)];
    let pairs = [part(3, 1, PairKind::Excerpt), part(3, 2, PairKind::Excerpt)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 2, 3]]);
}

#[test]
fn a_split_entry_stands_alone_and_bridges_nothing() {
    let mut nodes = vec![node(1, "A", 0..300), node(2, "A", 0..300), node(3, "A", 0..300)];
    nodes[1].split = true;
    let pairs = [pair(1, 2, PairKind::Same), pair(2, 3, PairKind::Same)];
    assert_eq!(groups(&nodes, &pairs), Vec::<Vec<i64>>::new());
    let pairs = [pair(1, 2, PairKind::Same), pair(1, 3, PairKind::Manual)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 3]]);
}

#[test]
fn an_excerpt_and_a_brief_cut_from_the_same_lead_both_join_the_full_version() {
    // The full version 1 carries an excerpt (2) and a rewritten brief (3) of
    // its lead; 2 and 3 do not verify against each other, but they cover the
    // same passage of 1: one article, not a roundup.
    let nodes = [
        node(1, "Solar panel imports triple", 0..1000),
        node(2, "Solar panel imports triple", 0..50),
        node(3, "Rooftop boom: imports up threefold", 10..230),
    ];
    let pairs = [part(2, 1, PairKind::Excerpt), part(3, 1, PairKind::Part)];
    assert_eq!(groups(&nodes, &pairs), vec![vec![1, 2, 3]]);
}
