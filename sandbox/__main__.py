from sandbox.startup import main

main()
