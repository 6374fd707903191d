//! The linker `scripts/build-release` gives rustc on x86-64 Linux: it lays
//! out the release binary for start-up. It links as asked; for the
//! `rds-auth-token` program linked by lld it then runs the token commands
//! under ptrace, lists the functions they run in the order they first run
//! them, and links again with those functions first (lld's
//! `--symbol-ordering-file`). Start-up then reads a few hundred contiguous
//! KB of code instead of pages all over the binary's `.text`, and the
//! kernel maps far fewer pages for it.
//!
//! The list is made from the binary being linked, every time it is linked:
//! nothing is checked in, and nothing goes stale as the code changes. It
//! is traced natively, not under an emulator such as valgrind, which hides
//! the vDSO and some CPU features from the program: the code glibc and the
//! crates pick for this CPU (memcpy variants, SHA extensions) is what runs.
//! On a CPU with other features those few functions are outside the block
//! (about 128 KiB more with AVX-512 turned off).
//!
//! The real linker is `cc`, or `$STARTUP_ORDER_CC` when that is set.
//!
//! What it did goes to `rds-auth-token.layout` in the profile's folder
//! (`target/<host>/release/`), one line that starts with `ordered` or `not
//! ordered`, and the list it used to `rds-auth-token.order` beside it.
//! Anything it cannot do (no lld, no ptrace, a command that fails) leaves
//! the binary as an ordinary link would make it and says why there.
//!
//! Built by build-release with `rustc` alone (std, no crates), as it runs
//! inside the link of the program it lays out.

use std::collections::HashSet;
use std::env;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The commands whose functions go first, in this order: each one's
/// arguments after the program name. The environment credentials below
/// sign every one; the last reads them from a profile in the credentials
/// file. None of them reaches the network.
const COMMANDS: &[&[&str]] = &[
    &[
        "--hostname",
        "mydb.123456789012.us-east-1.rds.amazonaws.com",
        "--port",
        "5432",
        "--username",
        "jane_doe",
    ],
    &[
        "dsql",
        "--hostname",
        "abcdefghijklmnopqrst.dsql.us-east-1.on.aws",
        "--admin",
    ],
    &[
        "elasticache",
        "--cache-name",
        "my-cache",
        "--user-id",
        "iam-user-01",
        "--region",
        "us-east-1",
    ],
    &[
        "elasticache",
        "--cache-name",
        "my-cache",
        "--user-id",
        "iam-user-01",
        "--region",
        "us-east-1",
        "--serverless",
    ],
    &[
        "memorydb",
        "--cluster-name",
        "my-cluster",
        "--user-id",
        "iam-user-01",
        "--region",
        "us-east-1",
    ],
    &[
        "--hostname",
        "mydb.123456789012.us-east-1.rds.amazonaws.com",
        "--port",
        "5432",
        "--username",
        "jane_doe",
        "--profile",
        "layout",
    ],
];

/// AWS's documentation example keys: they sign, and sign nothing real.
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn main() -> ExitCode {
    let args: Vec<OsString> = env::args_os().skip(1).collect();
    let cc = env::var_os("STARTUP_ORDER_CC").unwrap_or_else(|| "cc".into());
    let output = output_of(&args);
    let program = output.as_deref().filter(|out| {
        out.file_name()
            .and_then(OsStr::to_str)
            .is_some_and(|name| name.starts_with("rds_auth_token-"))
    });
    let Some(output) = program else {
        return link(&cc, &args);
    };
    let Some(release) = output.parent().and_then(Path::parent) else {
        return link(&cc, &args);
    };
    let list = release.join("rds-auth-token.order");
    let _ = fs::remove_file(&list);
    let report = |line: &str| {
        // The build still stands if this cannot be written; build-release
        // then finds no report and says so.
        let _ = fs::write(release.join("rds-auth-token.layout"), format!("{line}\n"));
    };
    let linker = args
        .iter()
        .rev()
        .find_map(|arg| arg.to_str()?.strip_prefix("-fuse-ld="));
    if linker != Some("lld") {
        report("not ordered: the link does not use lld, which reads the ordering");
        return link(&cc, &args);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        report("not ordered: the tracer runs on x86-64 Linux only");
        return link(&cc, &args);
    }

    // A first link with the symbol table, to trace.
    let traced = output.with_extension("traced");
    let first: Vec<OsString> = args
        .iter()
        .filter(|arg| *arg != "-Wl,--strip-all" && *arg != "-s")
        .cloned()
        .collect();
    let status = link(&cc, &with_output(&first, &traced));
    if status != ExitCode::SUCCESS {
        return status;
    }
    let home = release.join("startup-order-home");
    let traced_order = trace_commands(&traced, &home);
    let _ = fs::remove_file(&traced);
    let _ = fs::remove_dir_all(&home);
    let order = match traced_order {
        Ok(order) => order,
        Err(why) => {
            report(&format!("not ordered: {why}"));
            return link(&cc, &args);
        }
    };
    if let Err(err) = fs::write(&list, order.join("\n") + "\n") {
        report(&format!("not ordered: writing {}: {err}", list.display()));
        return link(&cc, &args);
    }
    let mut ordered = args.clone();
    let mut flag = OsString::from("-Wl,--symbol-ordering-file=");
    flag.push(&list);
    ordered.push(flag);
    // Names of functions the linker drops (inlined, identical code folded)
    // are not an error.
    ordered.push("-Wl,--no-warn-symbol-ordering".into());
    let status = link(&cc, &ordered);
    if status == ExitCode::SUCCESS {
        report(&format!(
            "ordered: {} functions first, as the token commands first run them",
            order.len()
        ));
    }
    status
}

/// Runs the real linker with `args` and passes on how it ended.
fn link(cc: &OsStr, args: &[OsString]) -> ExitCode {
    match Command::new(cc).args(args).status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(1, 255) as u8),
        Err(err) => {
            eprintln!("startup-order: cannot run {}: {err}", cc.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

/// The file after `-o`.
fn output_of(args: &[OsString]) -> Option<PathBuf> {
    let at = args.iter().position(|arg| arg == "-o")?;
    args.get(at + 1).map(PathBuf::from)
}

/// `args` with the file after `-o` replaced by `output`.
fn with_output(args: &[OsString], output: &Path) -> Vec<OsString> {
    let mut args = args.to_vec();
    if let Some(at) = args.iter().position(|arg| arg == "-o") {
        args[at + 1] = output.into();
    }
    args
}

/// The functions the commands run, each once, in the order first run.
fn trace_commands(program: &Path, home: &Path) -> Result<Vec<String>, String> {
    let functions = trace::functions(program)?;
    let aws = home.join(".aws");
    let _ = fs::remove_dir_all(home);
    fs::create_dir_all(&aws)
        .and_then(|()| {
            fs::write(
                aws.join("credentials"),
                format!(
                    "[layout]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
                ),
            )
        })
        .map_err(|err| format!("writing {}: {err}", aws.display()))?;
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    for command in COMMANDS {
        let mut run = Command::new(program);
        run.args(*command)
            .env_clear()
            .env("HOME", home)
            .env("AWS_EC2_METADATA_DISABLED", "true");
        if !command.contains(&"--profile") {
            run.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
        }
        let hit = trace::run(run, &functions)
            .map_err(|why| format!("rds-auth-token {}: {why}", command.join(" ")))?;
        for name in hit {
            if seen.insert(name) {
                order.push(name.to_owned());
            }
        }
    }
    Ok(order)
}

/// Running a program under ptrace with a breakpoint on every function.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
mod trace {
    use std::collections::HashMap;
    use std::fs::{self, File, OpenOptions};
    use std::os::raw::{c_int, c_long};
    use std::os::unix::fs::{FileExt, MetadataExt};
    use std::os::unix::process::CommandExt;
    use std::path::Path;
    use std::process::Command;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    extern "C" {
        fn ptrace(request: c_int, ...) -> c_long;
        fn waitpid(pid: c_int, status: *mut c_int, options: c_int) -> c_int;
        fn kill(pid: c_int, signal: c_int) -> c_int;
    }

    const PTRACE_TRACEME: c_int = 0;
    const PTRACE_PEEKUSER: c_int = 3;
    const PTRACE_POKEUSER: c_int = 6;
    const PTRACE_CONT: c_int = 7;
    const PTRACE_SETOPTIONS: c_int = 0x4200;
    const PTRACE_O_TRACEFORK: c_long = 0x2;
    const PTRACE_O_TRACEVFORK: c_long = 0x4;
    const PTRACE_O_TRACECLONE: c_long = 0x8;
    const PTRACE_O_EXITKILL: c_long = 0x10_0000;
    /// `offsetof(struct user_regs_struct, rip)`.
    const RIP: c_long = 16 * 8;
    const SIGTRAP: c_int = 5;
    const SIGKILL: c_int = 9;
    const INT3: u8 = 0xcc;
    /// A run that takes longer than this is stuck (a start-up takes ~1 ms).
    const TIME_LIMIT: Duration = Duration::from_secs(30);

    /// A program's functions: the address of each one's first byte, relative
    /// to where the program is loaded, and its name.
    pub struct Functions {
        at: HashMap<u64, String>,
        /// `p_vaddr` of the first loadable segment, with its file offset.
        first_load: (u64, u64),
        position_independent: bool,
    }

    /// Reads the symbol table of an x86-64 ELF executable.
    pub fn functions(program: &Path) -> Result<Functions, String> {
        let elf =
            fs::read(program).map_err(|err| format!("reading {}: {err}", program.display()))?;
        let u16_at = |at: usize| {
            elf.get(at..at + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        };
        let u32_at = |at: usize| {
            elf.get(at..at + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        };
        let u64_at = |at: usize| {
            elf.get(at..at + 8)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
        };
        let bad = || "the linked program is not an x86-64 ELF executable".to_owned();
        if elf.get(..6) != Some(b"\x7fELF\x02\x01") || u16_at(18) != Some(62) {
            return Err(bad());
        }
        let position_independent = match u16_at(16) {
            Some(2) => false,
            Some(3) => true,
            _ => return Err(bad()),
        };
        let phoff = u64_at(32).ok_or_else(bad)? as usize;
        let shoff = u64_at(40).ok_or_else(bad)? as usize;
        let phnum = u16_at(56).ok_or_else(bad)? as usize;
        let shnum = u16_at(60).ok_or_else(bad)? as usize;
        let first_load = (0..phnum)
            .map(|i| phoff + i * 56)
            .find(|&ph| u32_at(ph) == Some(1))
            .and_then(|ph| Some((u64_at(ph + 16)?, u64_at(ph + 8)?)))
            .ok_or_else(bad)?;
        // Section headers: (type, flags, offset, size, link).
        let section = |i: usize| {
            let sh = shoff + i * 64;
            Some((
                u32_at(sh + 4)?,
                u64_at(sh + 8)?,
                u64_at(sh + 24)? as usize,
                u64_at(sh + 32)? as usize,
                u32_at(sh + 40)? as usize,
            ))
        };
        let symtab = (0..shnum)
            .filter_map(section)
            .find(|s| s.0 == 2)
            .ok_or("the linked program has no symbol table")?;
        let (_, _, strings, strings_size, _) = section(symtab.4).ok_or_else(bad)?;
        let strings = elf.get(strings..strings + strings_size).ok_or_else(bad)?;
        let mut at = HashMap::new();
        for sym in (symtab.2..symtab.2 + symtab.3).step_by(24) {
            let (Some(name), Some(info), Some(index), Some(value)) = (
                u32_at(sym),
                elf.get(sym + 4),
                u16_at(sym + 6),
                u64_at(sym + 8),
            ) else {
                return Err(bad());
            };
            // STT_FUNC and STT_GNU_IFUNC, defined in an executable section.
            let executable = index != 0
                && index < 0xff00
                && section(index as usize).is_some_and(|s| s.1 & 0x4 != 0);
            if !matches!(info & 0xf, 2 | 10) || !executable || value == 0 {
                continue;
            }
            let name = &strings[name as usize..];
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if let Ok(name) = std::str::from_utf8(name) {
                at.entry(value).or_insert_with(|| name.to_owned());
            }
        }
        Ok(Functions {
            at,
            first_load,
            position_independent,
        })
    }

    /// Runs `command` to its end and returns the names of the functions it
    /// ran, in the order it first ran them.
    pub fn run(mut command: Command, functions: &Functions) -> Result<Vec<&str>, String> {
        command.stdout(std::process::Stdio::null());
        // SAFETY: ptrace(PTRACE_TRACEME) is async-signal-safe and touches no
        // memory of this process.
        unsafe {
            command.pre_exec(|| {
                if ptrace(PTRACE_TRACEME, 0, 0, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|err| format!("cannot start it: {err}"))?;
        let pid = child.id() as c_int;
        // The child stops at its exec with SIGTRAP.
        let status = wait(pid)?;
        if !stopped(status) {
            return Err("it did not stop at its start under ptrace".into());
        }
        let options =
            PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
        // SAFETY: plain ptrace requests on our stopped child.
        if unsafe { ptrace(PTRACE_SETOPTIONS, pid, 0, options) } == -1 {
            return Err(kill_with(
                pid,
                &format!("ptrace: {}", std::io::Error::last_os_error()),
            ));
        }
        let result =
            breakpoints(pid, functions).and_then(|(mem, set)| follow(pid, functions, &mem, set));
        match result {
            Ok(hit) => Ok(hit),
            Err(why) => Err(kill_with(pid, &why)),
        }
    }

    fn kill_with(pid: c_int, why: &str) -> String {
        // SAFETY: signalling and reaping our own child.
        unsafe {
            kill(pid, SIGKILL);
            let mut status = 0;
            waitpid(pid, &mut status, 0x4000_0000);
        }
        why.to_owned()
    }

    /// Where each breakpoint is, in the running program, with the byte it
    /// replaced.
    type Set = HashMap<u64, (u8, u64)>;

    fn breakpoints(pid: c_int, functions: &Functions) -> Result<(File, Set), String> {
        let base = if functions.position_independent {
            load_address(pid, functions)?
        } else {
            0
        };
        let mem = OpenOptions::new()
            .read(true)
            .write(true)
            .open(format!("/proc/{pid}/mem"))
            .map_err(|err| format!("opening its memory: {err}"))?;
        let mut set = HashMap::with_capacity(functions.at.len());
        for &at in functions.at.keys() {
            let address = base + at;
            let mut byte = [0u8];
            mem.read_exact_at(&mut byte, address)
                .and_then(|()| mem.write_all_at(&[INT3], address))
                .map_err(|err| format!("setting a breakpoint: {err}"))?;
            set.insert(address, (byte[0], at));
        }
        Ok((mem, set))
    }

    /// Where the kernel loaded a position-independent program.
    fn load_address(pid: c_int, functions: &Functions) -> Result<u64, String> {
        let exe = fs::metadata(format!("/proc/{pid}/exe"))
            .map_err(|err| format!("reading its executable: {err}"))?
            .ino();
        let maps = fs::read_to_string(format!("/proc/{pid}/maps"))
            .map_err(|err| format!("reading its memory map: {err}"))?;
        let (vaddr, offset) = functions.first_load;
        for line in maps.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let [range, _, map_offset, _, inode, ..] = fields[..] else {
                continue;
            };
            let map_offset = u64::from_str_radix(map_offset, 16).ok();
            if inode.parse::<u64>().ok() != Some(exe) || map_offset != Some(offset & !0xfff) {
                continue;
            }
            let start = range
                .split('-')
                .next()
                .and_then(|s| u64::from_str_radix(s, 16).ok());
            if let Some(start) = start {
                return Ok(start - (vaddr & !0xfff));
            }
        }
        Err("it is not in its own memory map".into())
    }

    /// Continues the stopped child to its exit, removing each breakpoint it
    /// hits.
    fn follow<'f>(
        pid: c_int,
        functions: &'f Functions,
        mem: &File,
        mut set: Set,
    ) -> Result<Vec<&'f str>, String> {
        let done = Arc::new(AtomicBool::new(false));
        let watchdog = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                while !done.load(Ordering::Relaxed) {
                    if start.elapsed() > TIME_LIMIT {
                        // SAFETY: signalling our own child.
                        unsafe { kill(pid, SIGKILL) };
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        let mut hit = Vec::new();
        let mut signal = 0;
        let result = loop {
            // SAFETY: plain ptrace requests on our stopped child.
            if unsafe { ptrace(PTRACE_CONT, pid, 0, signal as c_long) } == -1 {
                break Err(format!("ptrace: {}", std::io::Error::last_os_error()));
            }
            let status = match wait(pid) {
                Ok(status) => status,
                Err(why) => break Err(why),
            };
            if status & 0x7f == 0 {
                let code = (status >> 8) & 0xff;
                break if code == 0 {
                    Ok(hit)
                } else {
                    Err(format!("it exited with status {code}"))
                };
            }
            if !stopped(status) {
                break Err(format!(
                    "it ended with signal {} (or ran past {} seconds)",
                    status & 0x7f,
                    TIME_LIMIT.as_secs()
                ));
            }
            if status >> 16 != 0 {
                break Err("it started a thread or a process, which cannot be traced".into());
            }
            signal = (status >> 8) & 0xff;
            if signal != SIGTRAP {
                continue;
            }
            // SAFETY: plain ptrace requests on our stopped child.
            let rip = unsafe { ptrace(PTRACE_PEEKUSER, pid, RIP, 0) } as u64;
            let Some((byte, at)) = set.remove(&rip.wrapping_sub(1)) else {
                continue;
            };
            if let Err(err) = mem.write_all_at(&[byte], rip - 1) {
                break Err(format!("removing a breakpoint: {err}"));
            }
            // SAFETY: plain ptrace requests on our stopped child.
            if unsafe { ptrace(PTRACE_POKEUSER, pid, RIP, rip - 1) } == -1 {
                break Err(format!("ptrace: {}", std::io::Error::last_os_error()));
            }
            hit.push(functions.at[&at].as_str());
            signal = 0;
        };
        done.store(true, Ordering::Relaxed);
        let _ = watchdog.join();
        result
    }

    fn wait(pid: c_int) -> Result<c_int, String> {
        let mut status = 0;
        // SAFETY: waiting for our own child; __WALL.
        if unsafe { waitpid(pid, &mut status, 0x4000_0000) } == -1 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        Ok(status)
    }

    fn stopped(status: c_int) -> bool {
        status & 0xff == 0x7f
    }
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
mod trace {
    use std::path::Path;
    use std::process::Command;

    pub struct Functions;

    pub fn functions(_: &Path) -> Result<Functions, String> {
        Err("the tracer runs on x86-64 Linux only".into())
    }

    pub fn run(_: Command, _: &Functions) -> Result<Vec<&str>, String> {
        Err("the tracer runs on x86-64 Linux only".into())
    }
}
