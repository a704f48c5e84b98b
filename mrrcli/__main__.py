import sys

try:
    from mrrcli.cli import main
except KeyboardInterrupt:  # Ctrl-C while starting up
    sys.stderr.write("mrrcli: interrupted\n")
    sys.exit(130)

main()
