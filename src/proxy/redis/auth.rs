//! A client's own AUTH and HELLO, rewritten in place: the user and
//! password it sent become the proxy's user id and a fresh token, the
//! rest is kept, and the command goes to the server where it was in the
//! stream, so the server's own reply comes back in order among pipelined
//! commands. Whatever password the client sent, it never leaves the
//! proxy.

use super::resp::{encode, Command, Held};

/// `command` as the proxy sends it, a RESP array:
///
/// - `AUTH password` and `AUTH user password` become
///   `AUTH USER_ID TOKEN`; an AUTH with no argument or more than two is
///   sent as a bare `AUTH`, which the server refuses for its arity, as it
///   would have refused the client's.
/// - In `HELLO protover [AUTH user password] [SETNAME name]`, the two
///   arguments after `AUTH` become `USER_ID TOKEN`, read as Redis reads
///   HELLO's options (a `SETNAME` value named `AUTH` is a name); an `AUTH`
///   with fewer than two arguments after it loses them, and the server
///   answers its syntax error.
pub fn rewrite(command: &Command, user: &[u8], token: &[u8]) -> Vec<u8> {
    let args: Vec<&[u8]> = command.args.iter().map(Vec::as_slice).collect();
    match command.held {
        Held::Auth => match args.len() {
            2 | 3 => encode(&[args[0], user, token]),
            _ => encode(&[args[0]]),
        },
        Held::Hello => encode(&hello(&args, user, token)),
    }
}

fn hello<'a>(args: &[&'a [u8]], user: &'a [u8], token: &'a [u8]) -> Vec<&'a [u8]> {
    let mut out = args.to_vec();
    // Redis reads the protocol version first, then the options.
    let mut j = if out.get(1).is_some_and(|a| is_auth(a)) {
        1
    } else {
        2
    };
    while j < out.len() {
        if is_auth(out[j]) {
            if j + 2 < out.len() {
                out[j + 1] = user;
                out[j + 2] = token;
                j += 3;
            } else {
                out.truncate(j + 1);
                break;
            }
        } else if out[j].eq_ignore_ascii_case(b"SETNAME") && j + 1 < out.len() {
            j += 2;
        } else {
            j += 1;
        }
    }
    out
}

fn is_auth(arg: &[u8]) -> bool {
    arg.eq_ignore_ascii_case(b"AUTH")
}

/// The user name a client's AUTH or HELLO gave, if any, for the log.
pub fn client_user(command: &Command) -> Option<&[u8]> {
    match command.held {
        Held::Auth if command.args.len() == 3 => Some(&command.args[1]),
        Held::Auth => None,
        Held::Hello => command
            .args
            .iter()
            .skip(1)
            .position(|a| is_auth(a))
            .and_then(|at| command.args.get(at + 2))
            .map(Vec::as_slice),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(held: Held, args: &[&str]) -> Command {
        Command {
            held,
            args: args.iter().map(|a| a.as_bytes().to_vec()).collect(),
        }
    }

    fn sent(held: Held, args: &[&str]) -> Vec<u8> {
        rewrite(&command(held, args), b"iam-user", b"TOKEN")
    }

    fn array(args: &[&str]) -> Vec<u8> {
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        encode(&refs)
    }

    #[test]
    fn puts_the_user_id_and_token_in_place_of_the_clients_in_auth() {
        assert_eq!(
            sent(Held::Auth, &["AUTH", "secret"]),
            array(&["AUTH", "iam-user", "TOKEN"])
        );
        assert_eq!(
            sent(Held::Auth, &["auth", "someone", "secret"]),
            array(&["auth", "iam-user", "TOKEN"])
        );
        assert_eq!(sent(Held::Auth, &["AUTH"]), array(&["AUTH"]));
        assert_eq!(sent(Held::Auth, &["AUTH", "a", "b", "c"]), array(&["AUTH"]));
    }

    #[test]
    fn puts_them_in_hellos_auth_option_and_keeps_the_others() {
        for (client, server) in [
            (&["HELLO"][..], &["HELLO"][..]),
            (&["HELLO", "3"], &["HELLO", "3"]),
            (
                &["HELLO", "3", "AUTH", "u", "p"],
                &["HELLO", "3", "AUTH", "iam-user", "TOKEN"],
            ),
            (
                &["hello", "2", "setname", "app", "auth", "u", "p"],
                &["hello", "2", "setname", "app", "auth", "iam-user", "TOKEN"],
            ),
            (
                &["HELLO", "3", "SETNAME", "AUTH", "AUTH", "u", "p"],
                &["HELLO", "3", "SETNAME", "AUTH", "AUTH", "iam-user", "TOKEN"],
            ),
            (&["HELLO", "3", "AUTH", "p"], &["HELLO", "3", "AUTH"]),
            (
                &["HELLO", "AUTH", "u", "p"],
                &["HELLO", "AUTH", "iam-user", "TOKEN"],
            ),
            (
                &["HELLO", "3", "BOGUS", "AUTH", "u", "p"],
                &["HELLO", "3", "BOGUS", "AUTH", "iam-user", "TOKEN"],
            ),
        ] {
            assert_eq!(sent(Held::Hello, client), array(server), "{client:?}");
        }
    }

    #[test]
    fn never_sends_a_password_the_client_gave() {
        let cases: [&[&str]; 5] = [
            &["AUTH", "pw"],
            &["AUTH", "u", "pw"],
            &["AUTH", "u", "pw", "pw"],
            &["AUTH", "pw", "pw", "pw", "pw"],
            &["AUTH", "pw", "x", "y"],
        ];
        for args in cases {
            let out = sent(Held::Auth, args);
            assert!(!out.windows(2).any(|w| w == b"pw"), "{args:?}");
        }
        let hellos: [&[&str]; 4] = [
            &["HELLO", "3", "AUTH", "u", "pw"],
            &["HELLO", "3", "AUTH", "pw"],
            &[
                "HELLO", "3", "SETNAME", "n", "AUTH", "u", "pw", "AUTH", "v", "pw",
            ],
            &["HELLO", "AUTH", "u", "pw"],
        ];
        for args in hellos {
            let out = sent(Held::Hello, args);
            assert!(!out.windows(2).any(|w| w == b"pw"), "{args:?}");
        }
    }

    #[test]
    fn names_the_user_the_client_gave() {
        assert_eq!(
            client_user(&command(Held::Auth, &["AUTH", "app", "pw"])),
            Some(&b"app"[..])
        );
        assert_eq!(client_user(&command(Held::Auth, &["AUTH", "pw"])), None);
        assert_eq!(
            client_user(&command(Held::Hello, &["HELLO", "3", "AUTH", "app", "pw"])),
            Some(&b"app"[..])
        );
        assert_eq!(client_user(&command(Held::Hello, &["HELLO", "3"])), None);
    }
}
