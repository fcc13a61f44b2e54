"""The `fedcoop` command: init, serve, worker, user, coop, federation, export, import, backup,
demo, check.

User mistakes (bad arguments, bad config values, a taken name) print one line and exit 2;
tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import secrets
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from fedcoop import __version__
from fedcoop.db import SchemaTooNew
from fedcoop.errors import AppError, ConfigError, UsageError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _read_password(path: str | None, *, prompt: str) -> tuple[str, bool]:
    """(password, generated?) from a file's first line, a prompt, or a fresh random one."""
    if path:
        try:
            text = Path(path).read_text().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read password file {path}: {exc.strerror}") from None
        if not text or not text[0]:
            raise UsageError(f"password file {path} is empty")
        return text[0], False
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if first != getpass.getpass("Again: "):
            raise UsageError("the two passwords differ")
        return first, False
    return secrets.token_urlsafe(12), True


def cmd_init(args: argparse.Namespace) -> int:
    from fedcoop.provisioning import init_instance

    password, generated = _read_password(args.password_file, prompt=f"Password for {args.admin}: ")
    result = init_instance(
        Path(args.data_dir),
        domain=args.domain,
        coop=args.coop,
        coop_title=args.coop_title,
        admin=args.admin,
        password=password,
        http=args.http,
        allow_private_network=args.allow_private_network,
    )
    print(f"Created {result.config_path}")
    print(f"Instance  {result.base_url}  (instance actor {result.instance_actor_uri})")
    print(f"Coop      @{args.coop}@{result.domain}")
    print(f"Admin     @{args.admin}@{result.domain}")
    if generated:
        print(f"Password  {password}   (generated: keep it, it is not shown again)")
    print(f"Start it with: fedcoop serve --data-dir {args.data_dir}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from fedcoop.server import serve

    serve(Path(args.data_dir), bind=args.bind, port=args.port)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from fedcoop.worker_process import run_worker

    run_worker(Path(args.data_dir))
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from fedcoop.provisioning import add_user

    password, generated = _read_password(
        args.password_file, prompt=f"Password for {args.username}: "
    )
    account = add_user(
        Path(args.data_dir),
        args.username,
        password,
        role=args.role,
        display_name=args.display_name or "",
    )
    print(f"Created {account.role} @{account.username}")
    if generated:
        print(f"Password  {password}   (generated: keep it, it is not shown again)")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from fedcoop.provisioning import list_users

    rows = list_users(Path(args.data_dir))
    print(f"{'username':<24} {'role':<8} {'created':<24} status")
    for a in rows:
        print(
            f"{a.username:<24} {a.role:<8} {a.created_at:<24} "
            f"{'disabled' if a.disabled else 'active'}"
        )
    return 0


def cmd_coop_add(args: argparse.Namespace) -> int:
    from fedcoop.provisioning import add_coop

    coop = add_coop(
        Path(args.data_dir),
        args.name,
        title=args.title or args.name,
        admin=args.admin,
        admission=args.admission,
    )
    print(f"Created coop @{coop.name} ({coop.title}), admission: {coop.admission}")
    return 0


def cmd_coop_list(args: argparse.Namespace) -> int:
    from fedcoop.provisioning import list_coops

    for coop in list_coops(Path(args.data_dir)):
        print(f"{coop.name:<24} {coop.admission:<9} {coop.title}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from fedcoop.checks import run_checks

    ok = True
    for finding in run_checks(Path(args.data_dir)):
        print(("ok    " if finding.ok else "FAIL  ") + finding.message)
        ok = ok and finding.ok
    return 0 if ok else 1


def cmd_backup(args: argparse.Namespace) -> int:
    from fedcoop.backups import back_up

    result = back_up(Path(args.data_dir), Path(args.output) if args.output else None)
    print(
        f"Backed up to {result.directory} (database {result.database_bytes:,} bytes, "
        f"schema version {result.schema_version}, integrity ok)"
    )
    print("Restore: copy that directory into place and run fedcoop serve --data-dir on it.")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from fedcoop.demo import run_demo

    run_demo(
        Path(args.dir), base_port=args.base_port, instances=args.instances, seed_only=args.seed_only
    )
    return 0


def cmd_federation_block(args: argparse.Namespace) -> int:
    from fedcoop.federation_admin import block_domain

    rule = block_domain(Path(args.data_dir), args.domain, reason=args.reason)
    print(f"Blocked {rule.domain} and its subdomains")
    return 0


def cmd_federation_unblock(args: argparse.Namespace) -> int:
    from fedcoop.federation_admin import unblock_domain

    print(f"Unblocked {unblock_domain(Path(args.data_dir), args.domain)}")
    return 0


def cmd_federation_allow(args: argparse.Namespace) -> int:
    from fedcoop.federation_admin import allow_domain

    rule = allow_domain(Path(args.data_dir), args.domain, reason=args.reason)
    print(f"Allowed {rule.domain} and its subdomains")
    return 0


def cmd_federation_list(args: argparse.Namespace) -> int:
    from fedcoop.federation_admin import list_domains

    listing = list_domains(Path(args.data_dir))
    print(f"mode: {listing.mode}")
    for rule in listing.policies:
        print(f"{rule.policy:<6} {rule.domain:<40} {rule.created_at:<25} {rule.reason}".rstrip())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from fedcoop.portability import export_user

    path = export_user(
        Path(args.data_dir), args.username, Path(args.output) if args.output else None
    )
    print(f"Wrote {path} (signed archive of @{args.username})")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from fedcoop.portability import run_import

    summary = run_import(Path(args.data_dir), args.username, Path(args.archive))
    print(f"Imported {summary.old_uri} into @{args.username}: every proof verified")
    print(f"  reviews added: {summary.reviews_added}")
    for name, count in sorted(summary.counts.items()):
        print(f"  {name}: {count} checked")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fedcoop", description="A federated server for platform cooperatives.")
    parser.add_argument("--version", action="version", version=f"fedcoop {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("init", help="create a new instance with its coop and first admin")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--domain", required=True, help="HOST[:PORT] used in every id")
    p.add_argument("--coop", required=True, help="the coop's name (its handle)")
    p.add_argument("--coop-title", default="", help="the coop's display name")
    p.add_argument("--admin", required=True, help="username of the first admin")
    p.add_argument("--password-file", help="read the admin password from this file's first line")
    p.add_argument("--http", action="store_true", help="http:// ids (development only)")
    p.add_argument(
        "--allow-private-network",
        action="store_true",
        help="fetch from and deliver to loopback/private addresses (local federations)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("serve", help="serve the instance and run its workers")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--bind", help="address to listen on (default: server.bind)")
    p.add_argument("--port", type=int, help="port to listen on (default: server.port)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "worker", help="run the background workers alone (with server.workers = false)"
    )
    p.add_argument("--data-dir", required=True)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("user", help="manage accounts")
    usub = p.add_subparsers(dest="user_command", required=True, parser_class=_Parser)
    q = usub.add_parser("add", help="create an account")
    q.add_argument("--data-dir", required=True)
    q.add_argument("username")
    q.add_argument("--role", choices=["member", "client", "admin"], default="member")
    q.add_argument("--password-file")
    q.add_argument("--display-name")
    q.set_defaults(func=cmd_user_add)
    q = usub.add_parser("list", help="list accounts")
    q.add_argument("--data-dir", required=True)
    q.set_defaults(func=cmd_user_list)

    p = sub.add_parser("coop", help="manage the coops this instance hosts")
    csub = p.add_subparsers(dest="coop_command", required=True, parser_class=_Parser)
    q = csub.add_parser("add", help="host another coop")
    q.add_argument("--data-dir", required=True)
    q.add_argument("name")
    q.add_argument("--title")
    q.add_argument("--admin", required=True, help="username of the coop's first admin")
    q.add_argument(
        "--admission", choices=["open", "approval", "vote", "closed"], default="approval"
    )
    q.set_defaults(func=cmd_coop_add)
    q = csub.add_parser("list", help="list the coops")
    q.add_argument("--data-dir", required=True)
    q.set_defaults(func=cmd_coop_list)

    p = sub.add_parser("federation", help="block or allow other servers")
    fsub = p.add_subparsers(dest="federation_command", required=True, parser_class=_Parser)
    q = fsub.add_parser("block", help="refuse a domain and its subdomains")
    q.add_argument("--data-dir", required=True)
    q.add_argument("domain")
    q.add_argument("--reason", default="", help="kept with the block, for other admins")
    q.set_defaults(func=cmd_federation_block)
    q = fsub.add_parser("unblock", help="lift a block")
    q.add_argument("--data-dir", required=True)
    q.add_argument("domain")
    q.set_defaults(func=cmd_federation_unblock)
    q = fsub.add_parser("allow", help='allow a domain (for federation.mode = "allowlist")')
    q.add_argument("--data-dir", required=True)
    q.add_argument("domain")
    q.add_argument("--reason", default="")
    q.set_defaults(func=cmd_federation_allow)
    q = fsub.add_parser("list", help="show the mode and every rule")
    q.add_argument("--data-dir", required=True)
    q.set_defaults(func=cmd_federation_list)

    p = sub.add_parser("export", help="write everything a person owns as a signed archive")
    p.add_argument("--data-dir", required=True)
    p.add_argument("username")
    p.add_argument("--output", help="file to write (default: USERNAME-TIME.fedcoop.json)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("import", help="read a person's archive into a local account")
    p.add_argument("--data-dir", required=True)
    p.add_argument("username", help="the local account to import into (create it first)")
    p.add_argument("archive", help="the .fedcoop.json file written by `fedcoop export`")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("backup", help="copy a (running) instance into a new directory")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--output", help="directory to create (default: DATA_DIR-backup-TIME)")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("check", help="validate configuration, schema and keys")
    p.add_argument("--data-dir", required=True)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="run a local federation of three coops with sample data")
    p.add_argument("--dir", default=".demo")
    p.add_argument("--base-port", type=int, default=8001)
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--seed-only", action="store_true", help="create and seed, then exit")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (UsageError, ConfigError) as exc:
        print(f"fedcoop: error: {exc}", file=sys.stderr)
        return 2
    except AppError as exc:
        where = f" ({exc.field})" if exc.field else ""
        print(f"fedcoop: error{where}: {exc.safe_message}", file=sys.stderr)
        return 2
    except SchemaTooNew as exc:
        print(f"fedcoop: refusing to start: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
