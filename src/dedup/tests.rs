use super::*;

const SEED: &str = include_str!("../../tests/fixtures/seed-article.txt");

/// The seed article's body (without title and the republisher's tail).
fn seed_body() -> String {
    let paras: Vec<&str> = SEED.split("\n\n").collect();
    let end = paras.iter().position(|p| p.starts_with("Originally published")).unwrap();
    paras[1..end].join("\n\n")
}

fn seed_copy() -> String {
    let paras: Vec<&str> = SEED.split("\n\n").collect();
    paras[1..].join("\n\n")
}

fn no_boilerplate(_: i64) -> bool {
    false
}

fn prep(text: &str) -> Prepared {
    prepare(text, no_boilerplate)
}

fn fp(text: &str) -> Fingerprint {
    prep(text).fingerprint()
}

const TITLE: &str = "Sino Pak Friendship Strengthen With The Technology Revolution";

#[test]
fn attribution_lines_are_found_with_their_source() {
    let cases = [
        ("Originally published at Bol news", "Bol news"),
        ("This article was originally published at The Lakeside Chronicle.", "The Lakeside Chronicle"),
        ("… seize the wave [\u{2026}] The post Sino Pak Friendship appeared first on CPEC Watch.", "CPEC Watch"),
        ("This article first appeared in The Diplomat.", "The Diplomat"),
        ("This article is republished from The Conversation under a Creative Commons license. Read the original article.", "The Conversation"),
        ("Republished with permission from Dawn.", "Dawn"),
        ("Source: APP", "APP"),
        ("Courtesy: China Economic Net", "China Economic Net"),
        // Sources in other scripts (the regex counts bytes, the name is whole UTF-8).
        ("Originally published at بول نیوز", "بول نیوز"),
        ("Source: 中国经济网", "中国经济网"),
        ("The post Сотрудничество Китая и Пакистана appeared first on Новости.", "Новости"),
    ];
    for (p, want) in cases {
        assert_eq!(find_attribution(p).map(|a| a.0).as_deref(), Some(want), "{p}");
    }
    for p in [
        "The source said the corridor would be finished by 2030.",
        "Officials first published the tender in March, and bids closed last week with three companies in the race.",
        "Leave a Reply",
    ] {
        assert_eq!(find_attribution(p), None, "{p}");
    }
    let (_, start) = find_attribution("Words here [\u{2026}] The post X appeared first on Y.").unwrap();
    assert_eq!(&"Words here [\u{2026}] The post X appeared first on Y."[start..start + 8], "The post");
}

#[test]
fn seed_copy_with_attribution_bio_and_reply_is_the_same_text() {
    let original = prep(&seed_body());
    let copy = prep(&seed_copy());
    assert_eq!(copy.attribution.as_deref(), Some("Bol news"));
    assert_eq!(original.attribution, None);
    assert_eq!(copy.shingles, original.shingles, "bio and Leave a Reply follow the attribution and are dropped");
    let v = verify(&copy.fingerprint(), TITLE, &original.fingerprint(), TITLE);
    assert!(v.kind == Some(PairKind::Same) && v.containment == 1.0, "{v:?}");
}

#[test]
fn wordpress_excerpt_finds_its_full_article() {
    let body = seed_body();
    let words: Vec<&str> = body.split_whitespace().collect();
    let excerpt = format!("{} [\u{2026}] The post {TITLE} appeared first on CPEC Watch.", words[..55].join(" "));
    let e = prep(&excerpt);
    assert!(e.truncated);
    assert_eq!(e.attribution.as_deref(), Some("CPEC Watch"));
    let full = fp(&body);
    let v = verify(&e.fingerprint(), &format!("{TITLE} | CPEC Watch"), &full, TITLE);
    assert_eq!(v.kind, Some(PairKind::Excerpt), "{v:?}");
    assert!(v.first_is_shorter);
    assert!(v.cover < 0.2, "a whole-text comparison alone would miss it: {v:?}");
    // A 40-word Atom summary too, and the other way round.
    let summary = fp(&words[..40].join(" "));
    let v = verify(&full, TITLE, &summary, TITLE);
    assert!(v.is_copy() && !v.first_is_shorter, "{v:?}");
    // Under another headline, an excerpt long enough to be specific still is one.
    let v = verify(&e.fingerprint(), "China to help Pakistan ride tech wave", &full, TITLE);
    assert_eq!(v.kind, Some(PairKind::Excerpt), "{v:?}");
    // A short teaser under another headline is not specific enough.
    let teaser = fp(&words[..20].join(" "));
    assert!(!verify(&teaser, "Something else entirely here", &full, TITLE).is_copy());
}

#[test]
fn rewritten_headline_and_edited_lead_are_still_a_copy() {
    let body = seed_body();
    let edited = body.replacen(
        "New industries are emerging, and China will help Pakistan seize the wave of the technology revolution",
        "China will help Pakistan ride the technology revolution as new industries emerge, officials said",
        1,
    );
    let v = verify(&fp(&edited), "China to help Pakistan leapfrog with tech", &fp(&body), TITLE);
    assert!(v.kind == Some(PairKind::Same) && v.containment > 0.85, "{v:?}");
}

const REPORT_A: &str =
    "Gwadar port handled a record 1.2 million tonnes of cargo in October, the Gwadar Port Authority said \
on Tuesday. Officials credited new shipping lines from Karachi and the Gulf, and transit trade for Afghanistan. \
The chairman said the free zone had signed leases with 46 companies, most of them Chinese, and that the new \
airport would open next year. Traders in Balochistan welcomed the figures but asked for more reliable power.";

const REPORT_B: &str =
    "Cargo volumes at Gwadar reached 1.2 million tonnes last month, a record for the deep-sea port, \
according to figures released by the Gwadar Port Authority. Transit goods bound for Afghanistan and ships calling \
from the Gulf and Karachi drove the rise. Forty-six firms, mostly from China, now lease space in the free zone, \
its chairman told reporters, adding that the airport is due to open in 2025. Local traders praised the news while \
complaining about power cuts.";

#[test]
fn independent_reports_of_one_event_are_not_copies() {
    let v =
        verify(&fp(REPORT_A), "Gwadar port handles record cargo", &fp(REPORT_B), "Gwadar port handles record cargo");
    assert!(!v.is_copy() && v.containment < 0.2, "{v:?}");
}

#[test]
fn templated_daily_reports_are_not_copies() {
    let day = |d: u32, price: u32, change: u32, silver: u32| {
        format!(
            "Gold prices in Lahore rose on Monday, {d} June 2024, with 24-karat gold selling at Rs {price} per tola, \
             up Rs {change} from the previous day, the Lahore Jewellers Association said. Ten grams of 24-karat gold \
             cost Rs {}, while 22-karat gold sold at Rs {} per tola. Silver traded at Rs {silver} per tola.",
            price * 1000 / 11664,
            price * 22 / 24
        )
    };
    let a = fp(&day(3, 241_500, 1_200, 2_650));
    let b = fp(&day(3, 240_800, 900, 2_640));
    let v = verify(&a, "Gold price in Lahore today, 3 June 2024", &b, "Gold price in Lahore today, 3 June 2024");
    assert!(!v.is_copy(), "{v:?}");
    // A longer template where the sentences dominate: only the figures differ.
    let market = |close: &str, change: &str, volume: &str| {
        format!(
            "Market close: the benchmark index {change} points on the day as investors weighed the outlook for \
             interest rates and the pace of the recovery in the manufacturing sector, analysts said. The index \
             ended at {close}, with trading volume of {volume} million shares. Banking and energy stocks led the \
             market, while cement and fertiliser shares lagged amid concerns over input costs and demand in the \
             months ahead, brokers said in their daily notes to clients."
        )
    };
    let a = fp(&market("41,220.15", "rose 312.40", "182.5"));
    let b = fp(&market("40,907.75", "fell 95.10", "143.9"));
    let v = verify(&a, "Market close", &b, "Market close");
    assert!(!v.is_copy() && v.containment >= VERSION_CONTAINMENT, "{v:?}");
    assert_eq!(v.reason, "same sentences, different figures");
}

#[test]
fn an_item_carried_in_a_roundup_is_a_part_of_it_and_a_short_phrase_is_not() {
    let short = "Gwadar port handled a record 1.2 million tonnes of cargo in October, the Gwadar Port Authority said \
                 on Tuesday, crediting new shipping lines from Karachi and the Gulf.";
    let roundup = format!(
        "Morning briefing. {REPORT_B}\n\nIn other news: {REPORT_A}\n\nAnd finally, the rupee held steady in \
         interbank trading as import payments eased and remittances rose for a third month."
    );
    // A whole short report carried verbatim is a part of the roundup
    // (cluster::cluster decides whether the roundup joins its story).
    let v = verify(&fp(REPORT_A), "Gwadar cargo record", &fp(&roundup), "Morning briefing");
    assert_eq!(v.kind, Some(PairKind::Part), "{v:?}");
    assert!(v.first_is_shorter && v.length_ratio < PART_RATIO);
    // A sentence or two in common is too little to say anything.
    let v = verify(&fp(short), "Gwadar cargo record", &fp(&roundup), "Gwadar cargo record");
    assert!(!v.is_copy(), "{v:?}");
}

#[test]
fn shared_boilerplate_alone_is_not_a_copy_once_learnt() {
    let footer = "The Lakeside Chronicle is an independent newsroom covering courts and schools in Millbrook since 2004.\n\n\
                  Subscribe to our newsletter to get Lakeside Chronicle stories in your inbox every morning.\n\n\
                  Have a news tip? Email tips@lakeside.example or call +1 555 201 3344.\n\n\
                  © 2024 The Lakeside Chronicle. All rights reserved. Republication without written permission is prohibited.";
    let a = format!("The council approved the new budget on Tuesday after a long debate.\n\n{footer}");
    let b = format!("Schools will reopen next week after repairs to the roof of the main building.\n\n{footer}");
    // Unlearnt, the footer dominates two short posts: this is why a feed's
    // boilerplate is learnt (and why two posts of one feed are never compared).
    assert!(verify(&fp(&a), "Budget approved", &fp(&b), "Schools reopen").is_copy());
    // A copy of post a on another site (attribution, bio) against post b:
    let copy_of_a = format!(
        "{a}\n\nThis article was originally published at The Lakeside Chronicle.\n\nJane Doe covers the council."
    );
    let learnt: Vec<i64> = paragraph_hashes(footer);
    let is_bp = |h: i64| learnt.contains(&h);
    let (pa, pb, pc) = (prepare(&a, is_bp), prepare(&b, is_bp), prepare(&copy_of_a, is_bp));
    assert_eq!(intersection(&pa.shingles, &pb.shingles), 0, "{pa:?}");
    assert!(!verify(&pc.fingerprint(), "Budget approved", &pb.fingerprint(), "Schools reopen").is_copy());
    assert_eq!(pc.shingles, pa.shingles);
}

#[test]
fn stock_lines_and_trailers_are_dropped() {
    let p = prep(
        "Body text of the post that is long enough to matter here.\n\nShare this:\n\nLeave a Reply\n\nRead more »",
    );
    let q = prep("Body text of the post that is long enough to matter here.");
    assert_eq!(p.shingles, q.shingles);
}

#[test]
fn index_keys_are_stable_and_shared_by_versions_of_one_text() {
    let body = seed_body();
    let a = prep(&body);
    assert_eq!(a.index_keys(), prep(&body).index_keys());
    assert!(a.index_keys().iter().any(|k| a.is_lead_key(*k)));
    let b = prep(&format!("A new first paragraph the editor added on top.\n\n{body}"));
    let shared = a.index_keys().iter().filter(|x| b.index_keys().contains(x)).count();
    assert!(shared >= 3, "{shared}");
    let c = prep(REPORT_A);
    assert_eq!(a.index_keys().iter().filter(|x| c.index_keys().contains(x)).count(), 0);
    assert!(prep("too short").index_keys().is_empty());
}

/// Fingerprints read again are shared while they are among the last
/// decoded; other bytes (a fingerprint rewritten) are decoded anew; the
/// kept ones are bounded.
#[test]
fn fingerprints_read_again_are_decoded_once_while_kept() {
    let a = fp(&seed_body());
    let b = fp(&seed_copy());
    let (ea, eb) = (a.encode(), b.encode());
    let first = Fingerprint::decode_shared(&ea).unwrap();
    assert_eq!(*first, a);
    assert!(std::rc::Rc::ptr_eq(&first, &Fingerprint::decode_shared(&ea).unwrap()), "read again: shared");
    assert_eq!(*Fingerprint::decode_shared(&eb).unwrap(), b, "other bytes: their own fingerprint");
    assert_eq!(Fingerprint::decode_shared(&[9, 9, 9]), None);
    // Read again after DECODED_KEPT others: moved back from the generation before.
    let others = |round: usize| -> Vec<Fingerprint> {
        (0..DECODED_KEPT)
            .map(|i| Fingerprint { shingles: (round * DECODED_KEPT + i) as u32 + 1, ..a.clone() })
            .collect()
    };
    for o in others(0) {
        assert_eq!(*Fingerprint::decode_shared(&o.encode()).unwrap(), o);
    }
    assert!(std::rc::Rc::ptr_eq(&first, &Fingerprint::decode_shared(&ea).unwrap()), "kept a generation longer");
    // After two generations of others: decoded anew.
    for o in others(1).into_iter().chain(others(2)) {
        assert_eq!(*Fingerprint::decode_shared(&o.encode()).unwrap(), o);
    }
    let again = Fingerprint::decode_shared(&ea).unwrap();
    assert!(!std::rc::Rc::ptr_eq(&first, &again) && *again == a, "dropped, decoded anew");
    // Long texts' fingerprints: a generation holds DECODED_VALUES_KEPT values at most.
    let long = Fingerprint { sample: (0..20_000).map(|v| v * 4).collect(), full: false, ..a.clone() };
    let held = DECODED_VALUES_KEPT / long.sample.len() + 1;
    let kept = Fingerprint::decode_shared(&long.encode()).unwrap();
    for i in 0..2 * held {
        Fingerprint::decode_shared(&Fingerprint { shingles: 1_000_000 + i as u32, ..long.clone() }.encode()).unwrap();
    }
    let long_again = Fingerprint::decode_shared(&long.encode()).unwrap();
    assert!(!std::rc::Rc::ptr_eq(&kept, &long_again), "{} long fingerprints pushed it out", 2 * held);
}

#[test]
fn fingerprints_round_trip_and_sample_long_texts() {
    let long =
        (0..120).map(|i| format!("Sentence number {i} of a long article about the corridor.")).collect::<Vec<_>>();
    let f = fp(&long.join(" "));
    assert!(!f.full && f.shingles as usize > SKETCH_FULL_MAX);
    assert!(f.sample.iter().all(|s| s % SKETCH_RATE == 0));
    assert_eq!(Fingerprint::decode(&f.encode()), Some(f.clone()));
    let short = fp(&seed_body());
    assert_eq!(Fingerprint::decode(&short.encode()), Some(short));
    assert_eq!(Fingerprint::decode(&[9, 9, 9]), None);
    assert_eq!(Fingerprint::decode(&[]), None);
    // Values are 24 bits, stored as Rice-coded gaps: well under 3 bytes each.
    assert!(f.sample.iter().chain(&f.lead).chain(&f.numbers).all(|v| *v < 1 << 24));
    for x in [&f, &fp(&seed_body())] {
        let values = x.sample.len() + x.lead.len() + x.numbers.len();
        let len = x.encode().len();
        assert!(len * 100 <= (12 + 3 * values) * 82, "{len} bytes for {values} values");
    }
    // The one-pass overlap counts what shared_with and compared_len do.
    let short = fp(&seed_body());
    let copy = fp(&seed_copy());
    let half = fp(&long[60..].join(" "));
    let other_half = fp(&format!("{} A different end.", long[..70].join(" ")));
    for (x, y) in [
        (&short, &f),
        (&f, &short),
        (&f, &f),
        (&short, &short),
        (&short, &copy),
        (&copy, &short),
        (&half, &other_half),
        (&other_half, &f),
    ] {
        assert_eq!(x.overlap(y), (x.shared_with(y).len(), x.compared_len(y), y.compared_len(x)));
    }
    let (shared, n, m) = half.overlap(&other_half);
    assert!(shared > 0 && shared < n.min(m), "{shared} of {n} and {m}");
    // A sampled text against itself trimmed: containment is estimated well.
    let trimmed = fp(&long[..100].join(" "));
    let v = verify(&trimmed, "t", &f, "t");
    assert!(v.kind == Some(PairKind::Same) && v.containment > 0.9, "{v:?}");
}

#[test]
fn verdicts_do_not_depend_on_argument_order() {
    let body = seed_body();
    let words: Vec<&str> = body.split_whitespace().collect();
    let texts = [body.clone(), words[..55].join(" "), words[20..].join(" "), REPORT_A.to_owned(), REPORT_B.to_owned()];
    for a in &texts {
        for b in &texts {
            let (x, y) = (verify(&fp(a), "T one", &fp(b), "T two"), verify(&fp(b), "T two", &fp(a), "T one"));
            assert_eq!(x.kind, y.kind);
            assert_eq!(x.containment, y.containment);
            if a != b {
                assert_ne!(x.first_is_shorter, y.first_is_shorter);
            }
        }
    }
}

fn origin(id: i64, published: i64) -> OriginInfo {
    OriginInfo {
        id,
        url: Some(format!("https://site{id}.example/a")),
        feed_names: vec![format!("Site {id}"), format!("site{id}.example")],
        named: 1,
        own_site: true,
        published,
        words: 500,
        feed_url: format!("https://site{id}.example/feed"),
        key: format!("guid:{id}"),
        ..OriginInfo::default()
    }
}

#[test]
fn the_original_is_chosen_by_evidence_then_site_then_date_then_length() {
    let pick = |members: &[OriginInfo]| {
        let (i, why) = choose_original(members);
        (members[i].id, why)
    };
    let (a, mut b) = (origin(1, 100), origin(2, 50));
    assert_eq!(pick(&[a.clone(), b.clone()]), (2, "published first"));
    b.attribution = Some("Site 1".into());
    assert_eq!(pick(&[a.clone(), b.clone()]), (1, "another entry credits its feed by name"));
    b.attribution = Some("site1.example".into());
    assert_eq!(pick(&[a.clone(), b.clone()]), (1, "another entry credits its site"));
    b.attribution = Some("Somewhere Else".into());
    assert_eq!(pick(&[a.clone(), b.clone()]), (1, "it credits no other source"));
    b.attribution = None;
    b.source_url = a.url.clone();
    assert_eq!(pick(&[b.clone(), a.clone()]), (1, "another entry's feed names it as source"));
    // An aggregator linking to the article elsewhere is not its original.
    let (mut a, b) = (origin(1, 10), origin(2, 100));
    a.own_site = false;
    assert_eq!(pick(&[a, b]), (2, "it links to its own site"));
    let (a, mut b) = (origin(1, 100), origin(2, 100));
    b.truncated = true;
    // (an excerpt may have lost its attribution line with its end)
    assert_eq!(pick(&[b.clone(), a.clone()]), (1, "it credits no other source"));
    // A site's category feed and its main feed carry the same item.
    let (mut main, mut cat) = (origin(1, 100), origin(2, 100));
    main.feed_url = "https://bol.example/feed".into();
    cat.feed_url = "https://bol.example/category/cpec/feed".into();
    assert_eq!(pick(&[cat.clone(), main.clone()]), (1, "its feed is the site's main feed"));
    // The user's merges never become the original.
    let (a, mut b) = (origin(1, 100), origin(2, 1));
    b.manual_copy = true;
    assert_eq!(pick(&[b, a]).0, 1);
    // Ties end on content keys, never on arrival: any order gives the same.
    let (x, y) = (origin(7, 5), origin(3, 5));
    assert_eq!(pick(&[x.clone(), y.clone()]), pick(&[y, x]));
}

#[test]
fn names_match_across_spelling() {
    assert!(credits("Bol news", &["Bol News".into()]));
    assert!(credits("BOL NEWS", &["bolnews.com".into()]));
    assert!(credits("bolnews.com", &["www.bolnews.com".into()]));
    assert!(!credits("Dawn", &["Bol News".into(), "bolnews.com".into()]));
    assert!(!credits("", &["".into()]));
}

#[test]
fn key_prefers_guid_then_link_then_hash() {
    assert_eq!(entry_key(Some(" g1 "), Some("https://a/x"), "t", "b").0, "guid:g1");
    assert_eq!(entry_key(Some(""), Some("https://a/x"), "t", "b").0, "link:https://a/x");
    let h = entry_key(None, None, "t", "b").0;
    assert!(h.starts_with("hash:") && h.len() == 5 + 32, "{h}");
    assert_eq!(entry_key(None, None, "t", "b"), entry_key(None, None, "t", "b"));
    assert_ne!(entry_key(None, None, "tb", ""), entry_key(None, None, "t", "b"));
}

#[test]
fn text_hash_ignores_case_punctuation_and_layout() {
    let body = seed_body();
    let reflowed = body.to_uppercase().replace(", ", "\n\n ").replace('.', " !");
    assert_eq!(text_hash(&body), text_hash(&reflowed));
    assert!(text_hash(&body).is_some());
    assert_eq!(text_hash("Read more"), None);
}

#[test]
fn trailers_are_stripped_by_characters() {
    for (input, want) in [
        ("words here [\u{2026}]", "words here"),
        ("words here [...] Read more »", "words here"),
        ("Ünïcödé tëxt… Continue reading →", "Ünïcödé tëxt"),
        ("nothing to strip", "nothing to strip"),
    ] {
        let mut s = input.to_owned();
        let found = strip_trailer(&mut s);
        assert_eq!(s, want);
        assert_eq!(found, input != want);
    }
}

/// The attribution's free spans are counted in characters, whatever the
/// script: counted in bytes, a Cyrillic name was held to 50 characters and
/// a CJK one to 33, where a Latin one may have 100.
#[test]
fn attribution_limits_count_characters_in_any_script() {
    let name = "Федеральное государственное учреждение Редакция Российской газеты";
    assert!(name.chars().count() < 100 && name.len() > 100);
    assert_eq!(find_attribution(&format!("Source: {name}")).map(|a| a.0).as_deref(), Some(name));
    let title = "Сотрудничество Китая и Пакистана ".repeat(5);
    assert!(title.chars().count() < 300 && title.len() > 300);
    assert_eq!(
        find_attribution(&format!("The post {title}appeared first on Новости.")).map(|a| a.0).as_deref(),
        Some("Новости")
    );
    // The limit is the same in every script: 100 characters.
    for c in ["a", "é", "中"] {
        assert!(find_attribution(&format!("Source: {}", c.repeat(99))).is_some(), "{c}");
        assert_eq!(find_attribution(&format!("Source: {}", c.repeat(101))), None, "{c}");
    }
}

/// The one-pass filter before the tail's: every phrase and label the tail
/// is searched for contains an anchor, and lower-casing makes ASCII letters
/// of no characters but the two the filter's reasoning names.
#[test]
fn every_attribution_key_word_contains_an_anchor() {
    for phrase in ATTRIBUTION_PHRASES.iter().chain(ATTRIBUTION_LABELS) {
        assert!(ATTRIBUTION_ANCHORS.iter().any(|a| phrase.contains(a)), "{phrase:?} contains no anchor");
    }
    let makes_ascii: Vec<char> = (0..=u32::from(char::MAX))
        .filter_map(char::from_u32)
        .filter(|c| !c.is_ascii() && c.to_lowercase().any(|l| l.is_ascii_alphabetic()))
        .collect();
    assert_eq!(makes_ascii, ['\u{130}', '\u{212a}']);
    // The Kelvin sign's `k` is in no anchor; `İ`'s `i` is followed by a
    // combining dot, so it could only end one.
    assert!(ATTRIBUTION_ANCHORS.iter().all(|a| !a.contains('k') && !a.ends_with('i')));
}

/// Whatever the case, a long s or white space between the words, a
/// paragraph the tail's filter passes, the one-pass filter passes too.
#[test]
fn the_anchor_filter_passes_what_the_tail_filter_passes() {
    let cases: [fn(&str) -> String; 6] = [
        |w| w.to_owned(),
        str::to_uppercase,
        |w| w.chars().enumerate().map(|(i, c)| if i % 2 == 0 { c.to_ascii_uppercase() } else { c }).collect(),
        |w| w.replace('s', "\u{17f}"),
        |w| w.replace(' ', "  \n "),
        |w| w.replace('i', "\u{130}").replace('k', "\u{212a}"),
    ];
    let mut passed = 0;
    for word in ATTRIBUTION_PHRASES.iter().chain(ATTRIBUTION_LABELS) {
        for case in cases {
            for body in [
                format!("{}: X", case(word)),
                format!("Ministers met on Monday. This story was {} at Dawn", case(word)),
                format!("{} {}", "Talks went on. ".repeat(40), case(word)),
            ] {
                let body = body.trim_end_matches(|c: char| c.is_whitespace() || c == '.');
                if may_credit_a_source(&attribution_tail(body)) {
                    passed += 1;
                    assert!(may_have_attribution_words(body), "{body:?}");
                }
            }
        }
    }
    assert!(passed > 100, "only {passed} paragraphs passed the tail filter");
    for quiet in ["The corridor will be finished by 2030.", "Talks went on. ".repeat(40).as_str(), ""] {
        assert!(!may_have_attribution_words(quiet), "{quiet:?}");
    }
}

/// Key words are looked for near the end of a paragraph only: the longest
/// attributions the pattern allows, at the end of a long paragraph that
/// mentions sources and publishing early on, are still found.
#[test]
fn the_longest_attributions_are_found_at_the_end_of_long_paragraphs() {
    let before = "Sources said the report was published on Monday. ".repeat(40);
    for c in ["a", "ж", "中"] {
        let name = c.repeat(100);
        let free = c.repeat(200);
        for line in [
            format!("This article is republished from {name} under {free}"),
            format!("This article is republished from {name} under {free} . . ."),
            format!("The post {} appeared first on {name}.", c.repeat(300)),
            format!("This story was originally published on {name}"),
            format!("Reprinted with kind permission courtesy of {name}."),
            format!("Credit : {name}"),
        ] {
            let paragraph = format!("{before}{line}");
            let found = find_attribution(&paragraph).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(found.0, name, "{line}");
            assert_eq!(&paragraph[found.1..], line);
        }
    }
}

/// `reduce` as it was before it hashed each paragraph's words once: every
/// paragraph it keeps hashed anew, after the reduction.
fn reduce_hashing_twice(text: &str) -> Reduced {
    let mut paras: Vec<String> = paragraphs(text).map(str::to_owned).collect();
    let mut attribution = None;
    let n = paras.len();
    if let Some((i, (name, start))) = paras
        .iter()
        .enumerate()
        .rev()
        .filter(|(i, _)| *i < ATTRIBUTION_HEAD || *i + ATTRIBUTION_TAIL >= n)
        .find_map(|(i, p)| find_attribution(p).map(|a| (i, a)))
    {
        attribution = Some(name);
        let head = paras[i][..start].trim().to_owned();
        if i * 2 >= paras.len().saturating_sub(1) {
            paras.truncate(i);
        } else {
            paras.remove(i);
        }
        if !head.is_empty() {
            paras.insert(i.min(paras.len()), head);
        }
    }
    paras.retain(|p| !(p.len() <= STOCK_LINE_MAX_CHARS && STOCK_LINE.is_match(p)));
    let truncated = paras.last_mut().is_some_and(strip_trailer);
    let paragraphs = paras
        .iter()
        .map(|p| {
            let (words, numbers) = word_hashes(p);
            let key = (words.len() >= BOILERPLATE_MIN_WORDS).then(|| (hash_words(&words) as i64) >> 32);
            ReducedParagraph { key, words, numbers }
        })
        .filter(|p| !p.words.is_empty())
        .collect();
    Reduced { attribution, truncated, paragraphs, text_hash: text_hash(text) }
}

/// `reduce` hashes each paragraph's words once, for the whole text's hash
/// and for the paragraphs it keeps as they were: the results are those of
/// hashing the whole text, and each paragraph kept, on its own.
#[test]
fn reduce_hashes_words_once_with_the_same_results() {
    let seed = seed_body();
    let copy = seed_copy();
    let cut = format!("{} Read more »", seed.split_whitespace().take(60).collect::<Vec<_>>().join(" "));
    let tail = format!("{seed}\n\nOriginally published at Bol news\n\nLeave a Reply\n\nShare this:");
    let head = format!("Words that stay. The post X appeared first on Y.\n\n{seed}\n\n{seed}\n\n{seed}");
    let greek =
        "ΟΔΟΣ ΜΕΤΑΞΎ ΚΙΝΑΣ ΚΑΙ ΠΑΚΙΣΤΑΝ ".repeat(8) + "\n\nΣΟΦΟΣ\n\n" + &"ﬁnal ｗｉｄｔｈ café 1,000 ".repeat(10);
    for text in [&seed, &copy, &cut, &tail, &head, &greek, "", "one two", "Read more"] {
        assert_eq!(reduce(text), reduce_hashing_twice(text), "{text}");
    }
    assert!(reduce(&cut).truncated);
    assert_eq!(reduce(&tail).attribution.as_deref(), Some("Bol news"));
    assert_eq!(reduce(&head).attribution.as_deref(), Some("Y"));
    assert!(reduce(&seed).text_hash.is_some());
}

/// Shingles in text order keep each one's first time; the set is the same
/// shingles sorted. A text that repeats itself has each shingle once.
#[test]
fn shingle_lists_and_sets_hold_each_shingle_once() {
    let words = word_hashes(&format!("{} {}", seed_body(), seed_body())).0;
    let list = shingle_list(&words);
    let set = shingle_set(&words);
    let once = shingle_list(&word_hashes(&seed_body()).0);
    assert_eq!(list[..once.len()], once[..]);
    let mut sorted = list.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!((sorted.len(), &sorted), (list.len(), &set));
    assert!(set.len() < words.len() / 2 + SHINGLE_WORDS);
}

/// The keyword filter in front of the attribution pattern lets through every
/// paragraph the pattern matches: the pattern's case-insensitive matching
/// folds the long s (`ſ`, its own lower case) to s, and its `\s*` around
/// "Source:" has no bound.
#[test]
fn the_attribution_filter_passes_whatever_the_pattern_matches() {
    let cases = [
        "Some text here. Originally publi\u{17f}hed on Example News.".to_owned(),
        "Some text here. \u{17f}ource: Example News".to_owned(),
        "Some text here. This article is republi\u{17f}hed from The Example under a licence.".to_owned(),
        format!("Some text here. Source:{}Example News", " ".repeat(450)),
        format!("Some text here. Source{}: Example News", "\u{3000}".repeat(450)),
        format!("Some text here. Credit:{}Example News.", "\u{a0}\u{2003}".repeat(300)),
    ];
    for c in &cases {
        let short: String = c.chars().take(40).collect();
        assert!(attribution_match(c).is_some(), "the pattern matches {short:?}");
        let (name, _) = find_attribution(c).unwrap_or_else(|| panic!("no attribution found in {short:?}"));
        assert!(name.starts_with("Example") || name.starts_with("The Example"), "{name:?}");
    }
}

/// Fingerprints filed in the 4-byte form (before values were cut to 24
/// bits) read as the same fingerprint computed now: their values cut, in
/// order, each once.
#[test]
fn fingerprints_of_the_four_byte_form_read_as_computed_now() {
    let long =
        (0..120).map(|i| format!("Sentence number {i} of a long article about the corridor.")).collect::<Vec<_>>();
    for f in [fp(&long.join(" ")), fp(&seed_body())] {
        // The old form, its values with the 8 bits above the 24 kept now set.
        let mut old = vec![1u8, u8::from(f.full) | (u8::from(f.truncated) << 1)];
        for n in [f.shingles, f.words, f.sample.len() as u32, f.lead.len() as u32, f.numbers.len() as u32] {
            old.extend_from_slice(&n.to_le_bytes());
        }
        for (i, v) in f.sample.iter().chain(&f.lead).chain(&f.numbers).enumerate() {
            old.extend_from_slice(&(v | ((i as u32 * 37 % 256) << 24)).to_le_bytes());
        }
        assert_eq!(Fingerprint::decode(&old), Some(f.clone()));
        assert_eq!(Fingerprint::decode(&old[..old.len() - 1]), None);
    }
}

/// Fingerprints filed with 3-byte values (format 2, before the values were
/// Rice-coded) read as the same fingerprint computed now; their lists out
/// of order are damage.
#[test]
fn fingerprints_of_the_three_byte_form_read_as_computed_now() {
    let long =
        (0..120).map(|i| format!("Sentence number {i} of a long article about the corridor.")).collect::<Vec<_>>();
    for f in [fp(&long.join(" ")), fp(&seed_body()), fp("")] {
        let mut old = vec![2u8, u8::from(f.full) | (u8::from(f.truncated) << 1)];
        for n in [f.shingles, f.words, f.sample.len() as u32, f.lead.len() as u32, f.numbers.len() as u32] {
            let mut n = n;
            while n >= 0x80 {
                old.push((n as u8 & 0x7f) | 0x80);
                n >>= 7;
            }
            old.push(n as u8);
        }
        for v in f.sample.iter().chain(&f.lead).chain(&f.numbers) {
            old.extend_from_slice(&v.to_le_bytes()[..3]);
        }
        assert_eq!(Fingerprint::decode(&old), Some(f.clone()));
        assert!(f.encode().len() <= old.len());
        assert_eq!(Fingerprint::decode(&old[..old.len().saturating_sub(1)]), None);
        if f.sample.len() >= 2 {
            let at = old.len() - 3 * (f.sample.len() + f.lead.len() + f.numbers.len());
            let (first, second) = (old[at..at + 3].to_vec(), old[at + 3..at + 6].to_vec());
            old[at..at + 3].copy_from_slice(&second);
            old[at + 3..at + 6].copy_from_slice(&first);
            assert_eq!(Fingerprint::decode(&old), None, "a sample out of order");
        }
    }
    // A list out of order (only a damaged one is) is written as its set.
    let mut f = fp(&seed_body());
    let sorted = f.clone();
    f.sample.reverse();
    f.lead.push(f.lead[0]);
    assert_eq!(Fingerprint::decode(&f.encode()), Some(sorted));
}

/// Damaged fingerprint bytes are `None`, never a panic or a huge allocation.
#[test]
fn damaged_fingerprints_are_refused() {
    let good = fp(&seed_body()).encode();
    for cut in 0..good.len() {
        assert_eq!(Fingerprint::decode(&good[..cut]), None, "cut at {cut}");
    }
    let mut x: u64 = 11;
    for i in 0..good.len() * 8 {
        let mut bad = good.clone();
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        bad[i / 8] ^= 1 << (i % 8);
        bad[(x >> 33) as usize % good.len()] ^= (x >> 20) as u8;
        let _ = Fingerprint::decode(&bad);
    }
    // Counts claiming billions of values: refused by the length check.
    assert_eq!(Fingerprint::decode(&[2, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 1, 2, 3]), None);
    assert_eq!(Fingerprint::decode(&[2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), None);
    assert_eq!(Fingerprint::decode(&[3, 0, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 1, 2, 3]), None);
    // Bits left over past the last value: not a fingerprint.
    let mut extra = good.clone();
    extra.push(1);
    assert_eq!(Fingerprint::decode(&extra), None);
}
