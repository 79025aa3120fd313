from gridsight.cli import main

main()
