# Shortcuts for the scripts in scripts/ (each also runs on its own).
.PHONY: setup course smoke test latest

setup:   ## create .venv and install the pinned packages
	bash scripts/setup_env.sh

course:  ## execute every notebook into runs/course/
	bash scripts/run_course.sh

smoke:   ## the same, tiny data and few steps
	bash scripts/run_course.sh --smoke

test:    ## unit, notebook and browser tests
	bash scripts/run_tests.sh

latest:  ## try the newest package releases in a separate venv
	bash scripts/check_latest.sh
