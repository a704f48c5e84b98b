from mrrcli.cli import main

main()
