from waitboard.cli import main

main()
