"""``atlas-fn users``: create, list and delete the app's local users (issue 13).

Owns: the ``users`` sub-commands and what they print. ``create --api-key NAME [--key KEY]`` prints
the new user's id and, once, its API key (``--key`` sets it, for tests; never stored in clear);
``create --email E --password P`` prints the id; ``list`` one user a line (id, type, what
identifies it); ``delete ID``. The store is the app's (``runtime.auth.store``: beside its data in
``<app>/.atlas-fn/auth/``). Must not decide anything the store decides, or print a password.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runtime.auth.store import UserStore
from runtime.errors import UserStoreError


def add_parser(commands: Any) -> None:
    users = commands.add_parser(
        "users", help="create, list and delete the app's local users (API keys, email/password)",
        description="Create, list and delete the app's local users: API-key users and email/password users, kept "
                    "beside the app's data, for calling endpoints and webhooks as a user.",
        epilog="examples:\n  atlas-fn users create --api-key ci\n  atlas-fn users create --email ada@example.com "
               "--password 'correct horse'\n  atlas-fn users list\n  atlas-fn users delete ID",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a user; prints its id (and its API key, once)")
    _app_flag(create)
    kind = create.add_mutually_exclusive_group(required=True)
    kind.add_argument("--api-key", dest="api_key", metavar="NAME", help="a user with an API key named NAME")
    kind.add_argument("--email", help="a local-userpass user with this email (needs --password)")
    create.add_argument("--key", help="the API key to use instead of a random one (for tests)")
    create.add_argument("--password", help="the local-userpass user's password")
    listed = actions.add_parser("list", help="list the users")
    _app_flag(listed)
    delete = actions.add_parser("delete", help="delete a user")
    _app_flag(delete)
    delete.add_argument("user_id", metavar="ID")
    users.set_defaults(run=run)


def _app_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--app", type=Path, default=None, help="App Services app folder (default: app_config/)")


def run(args: argparse.Namespace) -> int:
    app = args.app if args.app is not None else Path("app_config")
    if not app.is_dir():
        print(f"atlas-fn users: {app} is not a folder; allowed: an exported App Services app folder (--app DIR)", file=sys.stderr)
        return 2
    store = UserStore(app.absolute())
    try:
        return _run(args, store)
    except UserStoreError as error:
        print(f"atlas-fn users {args.action}: {error.message}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, store: UserStore) -> int:
    if args.action == "create":
        if args.api_key is not None:
            if args.password is not None:
                print("atlas-fn users create: --password goes with --email, not --api-key", file=sys.stderr)
                return 2
            user, key = store.create_api_key_user(args.api_key, args.key)
            print(f"user {user['id']}")
            print(f"api key {key}  (shown once: atlas-fn keeps only its hash)")
            return 0
        if not args.password or args.key is not None:
            print("atlas-fn users create: --email needs --password (and takes no --key)", file=sys.stderr)
            return 2
        print(f"user {store.create_password_user(args.email, args.password)['id']}")
        return 0
    if args.action == "list":
        for user in store.users():
            names = [f"api key {k['name']!r}" for k in user["api_keys"]]
            names += [f"email {user['data']['email']!r}"] if "email" in user["data"] else []
            names += [f"{i['provider_type']} {i['id']}" for i in user["identities"] if i["provider_type"] not in ("api-key", "local-userpass")]
            print(f"{user['id']}  {user['type']:<7} {', '.join(names)}")
        return 0
    if not store.delete(args.user_id):
        print(f"atlas-fn users delete: no user {args.user_id!r}; allowed: an id that atlas-fn users list shows", file=sys.stderr)
        return 1
    print(f"deleted {args.user_id}")
    return 0
