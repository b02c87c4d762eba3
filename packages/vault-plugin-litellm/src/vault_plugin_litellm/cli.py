"""``vault-plugin-litellm``: the plugin when OpenBao or Vault starts it, a small tool otherwise.

- Started by the host (its magic cookie is in the environment): serves the engine.
- ``install --plugin-dir DIR [--name litellm]``: writes the executable the host runs into its
  plugin directory and prints its SHA-256 with the commands that register and mount it.
- ``version``: prints the plugin's version.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from vault_plugin_litellm import __version__

MAGIC_COOKIE_KEY = "VAULT_BACKEND_PLUGIN"
ENTRY = "vault_plugin_litellm.plugin_main:main"
VERSION = f"v{__version__}"


def main(argv: Sequence[str] | None = None) -> int:
    if MAGIC_COOKIE_KEY in os.environ and not (argv if argv is not None else sys.argv[1:]):
        from vault_plugin_litellm.plugin_main import main as serve

        return serve()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(VERSION)
        return 0
    if args.command == "install":
        return _install(args.plugin_dir, args.name, args.mount)
    parser.print_help(sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vault-plugin-litellm",
        description=(
            "OpenBao / HashiCorp Vault secrets engine that mints LiteLLM virtual keys. Started "
            "by the server it serves the plugin; from a shell, use a subcommand."
        ),
    )
    commands = parser.add_subparsers(dest="command")
    install = commands.add_parser(
        "install",
        help="write the plugin executable into the server's plugin directory",
        description=(
            "Write the executable the server runs (a script whose #! is this environment's "
            "Python, in isolated mode) and print its SHA-256 and the commands that register "
            "and mount it. Re-run and re-register after upgrading this package."
        ),
    )
    install.add_argument("--plugin-dir", required=True, help="the server's plugin_directory")
    install.add_argument("--name", default="litellm", help="catalog name (default: litellm)")
    install.add_argument("--mount", default="litellm", help="mount path shown (default: litellm)")
    commands.add_parser("version", help="print the plugin version")
    return parser


def _install(plugin_dir: str, name: str, mount: str) -> int:
    from vault_plugin_litellm.sdk.launcher import LauncherError, write_launcher

    if not os.path.isdir(plugin_dir):
        print(f"error: --plugin-dir {plugin_dir!r} is not a directory", file=sys.stderr)
        return 1
    try:
        launcher = write_launcher(plugin_dir, name, ENTRY)
    except (LauncherError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Wrote {launcher.path} (runs {sys.executable} -I)")
    print(f"sha256: {launcher.sha256}")
    for server in ("bao", "vault"):
        title = "OpenBao" if server == "bao" else "HashiCorp Vault"
        print(f"\n{title}:")
        print(
            f"  {server} plugin register -sha256={launcher.sha256} -command={launcher.command} "
            f"-version={VERSION} secret {name}"
        )
        print(f"  {server} secrets enable -path={mount} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
