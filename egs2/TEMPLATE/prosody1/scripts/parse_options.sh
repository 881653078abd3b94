#!/usr/bin/env bash
# Sourced by a recipe script after its defaults are set: turns "--name value" arguments into
# assignments of existing shell variables (dashes in names become underscores), in the manner
# of Kaldi's parse_options.sh. "--config FILE" sources FILE first. "--help" prints $help_message.
# Unknown options are an error, so a mistyped option never passes silently.
while [ $# -gt 0 ]; do
    case "$1" in
        --help|-h)
            printf '%s\n' "${help_message:-No help message.}" >&2
            exit 0 ;;
        --*=*)
            echo "$0: use '--name value', not '--name=value': $1" >&2
            exit 1 ;;
        --*)
            _name="${1#--}"; _name="${_name//-/_}"
            if [ $# -lt 2 ]; then
                echo "$0: option --${_name} needs a value" >&2
                exit 1
            fi
            if [ "${_name}" = config ]; then
                # shellcheck disable=SC1090
                . "$2"
            elif [ -z "${!_name+set}" ]; then
                echo "$0: unknown option --${_name}" >&2
                exit 1
            else
                printf -v "${_name}" '%s' "$2"
            fi
            shift 2 ;;
        *)
            break ;;
    esac
done
unset _name
