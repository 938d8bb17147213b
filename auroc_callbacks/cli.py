"""The ``auroc-callbacks`` command line (argparse sub-commands)."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auroc-callbacks",
        description="Exact epoch AUROC for fastai and PyTorch Lightning.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from . import demo

    demo_parser = sub.add_parser("demo", help="train on sklearn's digits; exact epoch AUROC vs the minibatch mean")
    demo.add_arguments(demo_parser)
    demo_parser.set_defaults(func=_demo)
    return parser


def _demo(args) -> int:
    from . import demo

    demo.run(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
