# Environment of the recipe: the repository's .venv (created by `make demo` / `make test`)
# unless a virtual environment is already active.
MAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${MAIN_ROOT}/.venv/bin/activate" ]; then
    # shellcheck disable=SC1091
    . "${MAIN_ROOT}/.venv/bin/activate"
fi
export PYTHONUNBUFFERED=1
export PYTHONWARNINGS="ignore::FutureWarning,ignore::UserWarning"
