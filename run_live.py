#!/usr/bin/env python3
"""`python run_live.py [options]` = `drumgan live [options]`."""
import argparse
import sys

from liveinstrument.engine.cli import add_live_args, run_live

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="run_live.py", description="Play DrumGAN Live (same as 'drumgan live').")
    add_live_args(parser)
    try:
        sys.exit(run_live(parser.parse_args()))
    except KeyboardInterrupt:
        sys.exit(130)
