use super::*;

fn env(name: &str) -> Option<String> {
    let value = match name {
        "A" => "alpha",
        "B" => "b",
        "EMPTY" => "",
        "NEWLINE" => "top\nsecret",
        "TAB" => "top\tsecret",
        "LINE_SEPARATOR" => "top\u{2028}secret",
        _ => return None,
    };
    Some(value.to_owned())
}

#[test]
fn substitutes_live_references() {
    let cases = [
        ("a: ${A}\n", "a: alpha\n"),
        ("a: ${A}${B}-${A}\n", "a: alphab-alpha\n"),
        ("a: ${EMPTY}\n", "a: \n"),
        ("${A}: 1\n", "alpha: 1\n"),
        ("a: { b: ${A}, c: [${B}] }\n", "a: { b: alpha, c: [b] }\n"),
        ("a: \"# ${A}\"\n", "a: \"# alpha\"\n"),
        ("a: |\n  # ${A}\n", "a: |\n  # alpha\n"),
        // `$${` escapes; other dollars are plain text.
        ("a: $${A}\n", "a: ${A}\n"),
        // Left to right: a `$`, then the escape. (A `$` directly before a live reference
        // cannot be written; it belongs in the variable's value.)
        ("a: $$${A}\n", "a: $${A}\n"),
        ("a: $$ and $A and $ {A}\n", "a: $$ and $A and $ {A}\n"),
        (
            "h: $argon2id$v=19$m=19456,t=2,p=1$c2FsdA\n",
            "h: $argon2id$v=19$m=19456,t=2,p=1$c2FsdA\n",
        ),
        // Comments are left alone, whatever they contain.
        (
            "# ${UNSET} and ${ bad\na: ${A}\n",
            "# ${UNSET} and ${ bad\na: alpha\n",
        ),
        ("a: ${A} # ${UNSET}\n", "a: alpha # ${UNSET}\n"),
        ("a: ${A}\n  # ${NEWLINE}\n", "a: alpha\n  # ${NEWLINE}\n"),
    ];
    for (text, expected) in cases {
        let interpolated = interpolate(text, &env).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        assert_eq!(interpolated.text, expected, "{text:?}");
    }
}

#[test]
fn reports_every_problem_with_its_position() {
    const REFUSED: &str = "contains a line break or control character; refusing to insert \
                           it, as it could change the YAML structure";
    const MALFORMED: &str = "malformed variable reference: write ${NAME} (letters, digits \
                             and _) or $${ for a literal ${";
    type Expected = [(u32, u32, String)];
    let cases: [(&str, &Expected); 8] = [
        (
            "a: ${ONE}\nb: x${TWO}y ${ONE}\n",
            &[
                (1, 4, "environment variable ONE is not set".into()),
                (2, 5, "environment variable TWO is not set".into()),
                (2, 13, "environment variable ONE is not set".into()),
            ],
        ),
        (
            "é: ${ONE}\n",
            &[(1, 4, "environment variable ONE is not set".into())],
        ),
        (
            "a: ${NEWLINE}\n",
            &[(1, 4, format!("environment variable NEWLINE {REFUSED}"))],
        ),
        (
            "a: ${TAB}\n",
            &[(1, 4, format!("environment variable TAB {REFUSED}"))],
        ),
        (
            "a: \"${LINE_SEPARATOR}\"\n",
            &[(
                1,
                5,
                format!("environment variable LINE_SEPARATOR {REFUSED}"),
            )],
        ),
        (
            "a: ${1A} ${A-B}\n",
            &[(1, 4, MALFORMED.into()), (1, 10, MALFORMED.into())],
        ),
        (
            "a: ${}\nb: ${A\n",
            &[(1, 4, MALFORMED.into()), (2, 4, MALFORMED.into())],
        ),
        // A text that does not parse has no known comments: every reference counts.
        (
            "a: [\n# ${ONE}\n",
            &[(2, 3, "environment variable ONE is not set".into())],
        ),
    ];
    for (text, expected) in cases {
        let problems = interpolate(text, &env).expect_err(text);
        let got: Vec<_> = problems
            .iter()
            .map(|p| (p.location.line, p.location.column, p.message.clone()))
            .collect();
        assert_eq!(got, expected, "{text:?}");
        assert!(
            problems.iter().all(|p| !p.message.contains("secret")),
            "{text:?}"
        );
    }
}

#[test]
fn records_column_shifts() {
    // `${A}` (4 characters) becomes `alpha` (5) and `${B}` (4) becomes `b` (1): what follows
    // on the line moves left by 2 in total.
    let text = "x: ${A}, y: ${B}, z: 1\n";
    let interpolated = interpolate(text, &env).expect("interpolates");
    assert_eq!(interpolated.text, "x: alpha, y: b, z: 1\n");
    let z_after = 17; // 1-based column of `z` in the interpolated line
    let z_before = 19; // and in the original
    let mapped = interpolated.shifts.to_original(1, z_after);
    assert_eq!(
        mapped,
        Location {
            line: 1,
            column: z_before
        }
    );
    // Inside a substituted value: the `${` of its reference.
    assert_eq!(
        interpolated.shifts.to_original(1, 6),
        Location { line: 1, column: 4 }
    );
}
