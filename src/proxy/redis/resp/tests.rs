use super::*;
use proptest::prelude::*;

/// What a scan found, with consecutive bytes to pass on joined: a form
/// that does not depend on how the stream was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Out {
    Bytes(Vec<u8>),
    Command(Held, Vec<Vec<u8>>),
}

fn push_bytes(outs: &mut Vec<Out>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Out::Bytes(last)) = outs.last_mut() {
        last.extend_from_slice(bytes);
    } else {
        outs.push(Out::Bytes(bytes.to_vec()));
    }
}

/// Feeds `chunks` in turn; what was found, and the error if any. Checks
/// after each feed that the scanner holds no more than its bound.
fn scan(chunks: &[&[u8]]) -> (Vec<Out>, Option<ScanError>) {
    let mut scanner = Scanner::new();
    let mut outs = Vec::new();
    let mut pieces = Vec::new();
    for chunk in chunks {
        pieces.clear();
        let result = scanner.feed(chunk, &mut pieces);
        assert!(
            scanner.holding() <= MAX_HELD.max(MAX_INLINE) + 64,
            "holding {} bytes",
            scanner.holding()
        );
        for piece in &pieces {
            match piece {
                Piece::Input(range) => {
                    assert!(!range.is_empty(), "an empty range");
                    push_bytes(&mut outs, &chunk[range.clone()]);
                }
                Piece::Earlier(bytes) => {
                    assert!(!bytes.is_empty(), "nothing held");
                    push_bytes(&mut outs, bytes);
                }
                Piece::Command(command) => {
                    outs.push(Out::Command(command.held, command.args.clone()))
                }
            }
        }
        if let Err(err) = result {
            // Broken for good.
            assert_eq!(scanner.feed(b"PING\r\n", &mut pieces), Err(err.clone()));
            return (outs, Some(err));
        }
    }
    if scanner.at_boundary() {
        assert_eq!(scanner.holding(), 0, "holding bytes between commands");
    }
    (outs, None)
}

fn whole(stream: &[u8]) -> (Vec<Out>, Option<ScanError>) {
    scan(&[stream])
}

fn cut(stream: &[u8], at: &[usize]) -> Vec<Vec<u8>> {
    let mut points: Vec<usize> = at.iter().map(|&a| a % (stream.len() + 1)).collect();
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for point in points {
        chunks.push(stream[from..point].to_vec());
        from = point;
    }
    chunks.push(stream[from..].to_vec());
    chunks
}

fn args(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|a| a.as_bytes().to_vec()).collect()
}

fn array(list: &[&str]) -> Vec<u8> {
    let refs: Vec<&[u8]> = list.iter().map(|a| a.as_bytes()).collect();
    encode(&refs)
}

fn protocol_error(reason: &str) -> Option<ScanError> {
    Some(ScanError::Protocol(reason.into()))
}

#[test]
fn passes_commands_on_and_holds_auth_and_hello_whole() {
    let mut stream = array(&["SET", "k", "v"]);
    stream.extend(array(&["auth", "app", "secret"]));
    stream.extend(b"PING\r\n");
    stream.extend(array(&["HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"]));
    stream.extend(b"auth \"pa ss\"\n");
    stream.extend(array(&["GET", "k"]));
    let want = vec![
        Out::Bytes(array(&["SET", "k", "v"])),
        Out::Command(Held::Auth, args(&["auth", "app", "secret"])),
        Out::Bytes(b"PING\r\n".to_vec()),
        Out::Command(
            Held::Hello,
            args(&["HELLO", "3", "AUTH", "u", "p", "SETNAME", "n"]),
        ),
        Out::Command(Held::Auth, args(&["auth", "pa ss"])),
        Out::Bytes(array(&["GET", "k"])),
    ];
    for size in 1..=stream.len() {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        assert_eq!(scan(&chunks), (want.clone(), None), "chunks of {size}");
    }
}

#[test]
fn passes_one_range_for_a_chunk_of_plain_commands() {
    let mut stream = array(&["SET", "key:1", "xxx"]);
    stream.extend(array(&["GET", "key:1"]));
    stream.extend(b"*0\r\n*-1\r\n");
    let mut pieces = Vec::new();
    Scanner::new().feed(&stream, &mut pieces).unwrap();
    assert_eq!(pieces, vec![Piece::Input(0..stream.len())]);
}

#[test]
fn streams_a_huge_value_holding_nothing_of_it() {
    let mut scanner = Scanner::new();
    let mut pieces = Vec::new();
    let size = 100 * 1024 * 1024;
    let header = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${size}\r\n");
    scanner.feed(header.as_bytes(), &mut pieces).unwrap();
    let chunk = vec![b'x'; 64 * 1024];
    let mut passed = 0;
    for _ in 0..size / chunk.len() {
        pieces.clear();
        scanner.feed(&chunk, &mut pieces).unwrap();
        assert_eq!(pieces, vec![Piece::Input(0..chunk.len())]);
        assert!(scanner.holding() <= 8);
        passed += chunk.len();
    }
    assert_eq!(passed, size);
    assert!(!scanner.at_boundary());
    pieces.clear();
    scanner.feed(b"\r\n", &mut pieces).unwrap();
    assert!(scanner.at_boundary());
}

#[test]
fn answers_what_is_not_resp_as_redis_does() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"*abc\r\n".to_vec(), "invalid multibulk length"),
        (b"*1048577\r\n".to_vec(), "invalid multibulk length"),
        (b"*01\r\n".to_vec(), "invalid multibulk length"),
        (
            b"*123456789012345678901234".to_vec(),
            "invalid multibulk length",
        ),
        (b"*1\r\n$1000000000000\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$536870913\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$-1\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$-0\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n+OK\r\n".to_vec(), "expected '$', got '+'"),
        (b"*1\r\n\x01".to_vec(), "expected '$', got '\\x01'"),
        (
            b"AUTH \"unbalanced\r\n".to_vec(),
            "unbalanced quotes in request",
        ),
        (b"SET \"a\"b c\r\n".to_vec(), "unbalanced quotes in request"),
    ];
    for (stream, reason) in cases {
        for size in 1..=stream.len() {
            let chunks: Vec<&[u8]> = stream.chunks(size).collect();
            assert_eq!(
                scan(&chunks),
                (Vec::new(), protocol_error(reason)),
                "{:?} in chunks of {size}",
                String::from_utf8_lossy(&stream)
            );
        }
    }
}

#[test]
fn refuses_an_inline_line_over_64_kib_with_or_without_its_newline() {
    let line = vec![b'a'; 100 * 1024];
    assert_eq!(whole(&line).1, protocol_error("too big inline request"));
    let mut with_newline = line.clone();
    with_newline.extend(b"\r\n");
    assert_eq!(
        whole(&with_newline).1,
        protocol_error("too big inline request")
    );
    let mut longest = vec![b'a'; MAX_INLINE];
    longest.push(b'\n');
    assert_eq!(whole(&longest), (vec![Out::Bytes(longest.clone())], None));
}

#[test]
fn passes_what_came_before_an_error_and_nothing_after() {
    let mut stream = array(&["SET", "k", "v"]);
    stream.extend(b"*2\r\n$3\r\nGET\r\n$abc\r\n");
    stream.extend(array(&["PING"]));
    let (outs, err) = whole(&stream);
    assert_eq!(outs, vec![Out::Bytes(array(&["SET", "k", "v"]))]);
    assert_eq!(err, protocol_error("invalid bulk length"));
}

#[test]
fn refuses_an_auth_or_hello_over_its_bound_before_holding_it() {
    let big = "p".repeat(MAX_HELD);
    let stream = array(&["AUTH", "u", &big]);
    for size in [1, 7, 4096, stream.len()] {
        let chunks: Vec<&[u8]> = stream.chunks(size).collect();
        assert_eq!(
            scan(&chunks),
            (Vec::new(), Some(ScanError::TooLong(Held::Auth)))
        );
    }
    // Many small elements add up too.
    let many: Vec<&str> = std::iter::once("HELLO")
        .chain(std::iter::repeat_n("x", 20_000))
        .collect();
    assert_eq!(
        whole(&array(&many)).1,
        Some(ScanError::TooLong(Held::Hello))
    );
    // A big value in any other command is not held.
    let set = array(&["SET", "k", &big]);
    assert_eq!(whole(&set), (vec![Out::Bytes(set.clone())], None));
}

#[test]
fn takes_names_of_four_or_five_bytes_that_are_not_auth_or_hello_as_others() {
    let mut stream = array(&["PING"]);
    stream.extend(array(&["AUTHX", "a"]));
    stream.extend(array(&["HELL", "a"]));
    stream.extend(array(&["AUTH2"]));
    stream.extend(array(&["xAUTH", "pw"]));
    assert_eq!(whole(&stream), (vec![Out::Bytes(stream.clone())], None));
}

#[test]
fn splits_inline_arguments_as_redis_does() {
    let split = |line: &str| split_args(line.as_bytes());
    assert_eq!(split("  AUTH  pw  "), Some(args(&["AUTH", "pw"])));
    assert_eq!(
        split("AUTH \"p w\" 'x y'"),
        Some(args(&["AUTH", "p w", "x y"]))
    );
    assert_eq!(
        split(r#"SET "\x41\n\t\\\"" 'it\'s'"#),
        Some(args(&["SET", "A\n\t\\\"", "it's"]))
    );
    assert_eq!(split(r#"SET "\xZZ""#), Some(args(&["SET", "xZZ"])));
    assert_eq!(split(""), Some(Vec::new()));
    assert_eq!(split("a\"b\""), Some(args(&["ab"])));
    assert_eq!(split("\"open"), None);
    assert_eq!(split("'open"), None);
    assert_eq!(split("\"a\"b"), None);
    assert_eq!(split("AUTH pw\0ignored"), Some(args(&["AUTH", "pw"])));
}

#[test]
fn reads_numbers_as_string2ll_does() {
    assert_eq!(parse_number(b"0"), Some(0));
    assert_eq!(parse_number(b"-1"), Some(-1));
    assert_eq!(parse_number(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_number(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"01",
        b"+1",
        b"1 ",
        b"9223372036854775808",
    ] {
        assert_eq!(
            parse_number(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn shows_no_argument_of_a_held_command_in_debug() {
    let command = Command {
        held: Held::Auth,
        args: args(&["AUTH", "user", "hunter2"]),
    };
    let shown = format!("{command:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("user"),
        "{shown}"
    );
}

/// One generated command: its bytes and what the scanner must find.
fn command() -> impl Strategy<Value = (Vec<u8>, Out)> {
    let name = prop_oneof![
        Just("AUTH".to_owned()),
        Just("auth".to_owned()),
        Just("Hello".to_owned()),
        Just("HELLO".to_owned()),
        Just("SET".to_owned()),
        Just("PING".to_owned()),
        Just("HELL".to_owned()),
        Just("AUTHS".to_owned()),
        "[a-zA-Z]{0,7}",
    ];
    let element = prop::collection::vec(any::<u8>(), 0..40);
    let array_command =
        (name.clone(), prop::collection::vec(element, 0..6)).prop_map(|(name, rest)| {
            let mut all = vec![name.into_bytes()];
            all.extend(rest);
            let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
            let bytes = encode(&refs);
            let out = match Held::of(&all[0]) {
                Some(held) => Out::Command(held, all),
                None => Out::Bytes(bytes.clone()),
            };
            (bytes, out)
        });
    let word = "[a-zA-Z0-9:_-]{1,10}";
    let inline_command = (
        name,
        prop::collection::vec(word, 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_filter("not an array", |(name, ..)| !name.is_empty())
        .prop_map(|(name, words, quoted, crlf)| {
            let mut line = name.clone();
            let mut all = vec![name.clone().into_bytes()];
            for word in &words {
                line.push(' ');
                line.push_str(word);
                all.push(word.clone().into_bytes());
            }
            if quoted {
                line.push_str(" \"two words\"");
                all.push(b"two words".to_vec());
            }
            line.push_str(if crlf { "\r\n" } else { "\n" });
            let bytes = line.into_bytes();
            let out = match Held::of(&all[0]) {
                Some(held) => Out::Command(held, all),
                None => Out::Bytes(bytes.clone()),
            };
            (bytes, out)
        });
    let empty = prop_oneof![
        Just(b"*0\r\n".to_vec()),
        Just(b"*-1\r\n".to_vec()),
        Just(b"\r\n".to_vec())
    ]
    .prop_map(|bytes| (bytes.clone(), Out::Bytes(bytes)));
    prop_oneof![4 => array_command, 2 => inline_command, 1 => empty]
}

fn expected(commands: &[(Vec<u8>, Out)]) -> (Vec<u8>, Vec<Out>) {
    let mut stream = Vec::new();
    let mut outs = Vec::new();
    for (bytes, out) in commands {
        stream.extend_from_slice(bytes);
        match out {
            Out::Bytes(bytes) => push_bytes(&mut outs, bytes),
            other => outs.push(other.clone()),
        }
    }
    (stream, outs)
}

/// Bytes that look like RESP often and like nothing sometimes.
fn noise() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"*".to_vec()),
        Just(b"$".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"AUTH".to_vec()),
        Just(b"hello".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        "[0-9-]{1,4}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(token, 0..60).prop_map(|tokens| tokens.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn finds_the_same_commands_however_the_bytes_are_cut(
        commands in prop::collection::vec(command(), 0..12),
        at in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let (stream, want) = expected(&commands);
        prop_assert_eq!(whole(&stream), (want.clone(), None));
        let chunks = cut(&stream, &at);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(scan(&refs), (want, None));
    }

    #[test]
    fn passes_every_byte_unchanged_when_there_is_no_auth_or_hello(
        commands in prop::collection::vec(command(), 0..12),
        at in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let plain: Vec<_> = commands
            .into_iter()
            .filter(|(_, out)| matches!(out, Out::Bytes(_)))
            .collect();
        let (stream, _) = expected(&plain);
        let chunks = cut(&stream, &at);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let want = if stream.is_empty() { vec![] } else { vec![Out::Bytes(stream.clone())] };
        prop_assert_eq!(scan(&refs), (want, None));
    }

    #[test]
    fn reads_any_bytes_the_same_however_they_are_cut_within_its_bounds(
        stream in noise(),
        at in prop::collection::vec(any::<usize>(), 0..16),
    ) {
        let chunks = cut(&stream, &at);
        let refs: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(scan(&refs), whole(&stream));
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        prop_assert_eq!(scan(&bytewise), whole(&stream));
    }
}
