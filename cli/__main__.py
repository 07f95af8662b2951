"""`python -m jepakit.cli`: the same as the `jepakit` command."""

from jepakit.cli.app import main

if __name__ == "__main__":
    main()
