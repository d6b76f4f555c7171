#!/usr/bin/env python
"""Trains a GAN variant: `python train.py --variant=dcgan [--flag=value ...]`.

The flags are defined once, from `tfgan_suite/config.py`; `--help` lists them all.
"""

from absl import flags

from tfgan_suite import train_cli

flags.adopt_module_key_flags(train_cli)

if __name__ == "__main__":
    train_cli.run()
