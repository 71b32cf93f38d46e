"""`python -m leaderboard users add|list|set-password|set-role|disable|enable`."""

from __future__ import annotations

import argparse
import getpass
import sys

from db import accounts
from leaderboard.auth import ACCOUNT_ROLE_NAMES, MIN_PASSWORD_LENGTH
from leaderboard.cli import UserError
from leaderboard.commands.common import add_db_argument, add_format_argument, run_accounts, write_rows


def read_password(*, confirm: bool = True) -> str:
    """From a prompt on a terminal, else the first line of stdin; never from the command line."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Repeat password: ") != first:
            raise UserError("the passwords do not match")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    password = line.rstrip("\r\n")
    if not password:
        raise UserError("no password on standard input (pipe it in: echo \"$PW\" | python -m leaderboard users ...)")
    return password


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "users",
        help="manage sign-in accounts",
        description=(
            "Manage accounts. Passwords are read from a prompt, or from stdin when it is not a terminal; "
            f"a password has at least {MIN_PASSWORD_LENGTH} characters and may not be a common one, the "
            "username or the demo password. A new password, role or disabling ends the account's open sessions."
        ),
    )
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION", required=True)

    add = sub.add_parser("add", help="create an account (password from prompt or stdin)")
    add.add_argument("username")
    add.add_argument("--role", choices=ACCOUNT_ROLE_NAMES, required=True)
    add.add_argument("--name", help="display name (default: the agent's name or the username)")
    add.add_argument("--agent", help="link the account to this agent (role agent)")
    add.add_argument("--site", help="a manager's site (default: every site)")
    add_db_argument(add)
    add.set_defaults(handler=run_add)

    lst = sub.add_parser("list", help="list accounts: username, role, agent, team, site, disabled")
    add_format_argument(lst)
    add_db_argument(lst)
    lst.set_defaults(handler=run_list)

    pw = sub.add_parser("set-password", help="set a password (from prompt or stdin)")
    pw.add_argument("username")
    add_db_argument(pw)
    pw.set_defaults(handler=run_set_password)

    role = sub.add_parser("set-role", help="change an account's role")
    role.add_argument("username")
    role.add_argument("role", choices=ACCOUNT_ROLE_NAMES)
    add_db_argument(role)
    role.set_defaults(handler=run_set_role)

    dis = sub.add_parser("disable", help="disable an account (it can no longer sign in)")
    dis.add_argument("username")
    dis.add_argument("--enable", action="store_true", help="enable it again instead")
    add_db_argument(dis)
    dis.set_defaults(handler=run_disable)

    ena = sub.add_parser("enable", help="enable a disabled account again (it signs in afresh)")
    ena.add_argument("username")
    add_db_argument(ena)
    ena.set_defaults(handler=run_enable)


def run_add(args: argparse.Namespace) -> int:
    password = read_password()

    def action(session):
        accounts.add_user(
            session=session,
            username=args.username,
            role=args.role,
            password=password,
            display_name=args.name,
            agent=args.agent,
            site=args.site,
            actor="cli",
        )
        print(f"added {args.username} ({args.role})")

    return run_accounts(args, action)


def run_list(args: argparse.Namespace) -> int:
    return run_accounts(args, lambda session: write_rows(accounts.list_users(session=session), accounts.USER_COLUMNS, args.format))


def run_set_password(args: argparse.Namespace) -> int:
    password = read_password()

    def action(session):
        accounts.set_password(session=session, username=args.username, password=password, actor="cli")
        print(f"password set for {args.username}")

    return run_accounts(args, action)


def run_set_role(args: argparse.Namespace) -> int:
    def action(session):
        accounts.set_role(session=session, username=args.username, role=args.role, actor="cli")
        print(f"{args.username} is now {args.role}")

    return run_accounts(args, action)


def run_disable(args: argparse.Namespace) -> int:
    def action(session):
        accounts.disable_user(session=session, username=args.username, actor="cli", disabled=not args.enable)
        print(f"{args.username} {'enabled' if args.enable else 'disabled'}")

    return run_accounts(args, action)


def run_enable(args: argparse.Namespace) -> int:
    def action(session):
        accounts.enable_user(session=session, username=args.username, actor="cli")
        print(f"{args.username} enabled")

    return run_accounts(args, action)
