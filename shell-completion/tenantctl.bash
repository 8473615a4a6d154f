# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for tenantctl(8)

# the tenants tenantd (or the hierarchy) knows: "id" of each row of --json list
__tenantctl_tenants() {
        tenantctl --json list 2>/dev/null | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'
}

# the classes of the policy directory's classes.ini (it replaces the built-in
# ones), else the built-in ones
__tenantctl_classes() {
        local dir
        dir=$(tenantctl help 2>/dev/null | sed -n 's/^Policy directory default: \(.*\) (or .*/\1/p')
        if [[ -n $dir && -r $dir/classes.ini ]]; then
                sed -n 's/^[[:space:]]*\[class\.\([A-Za-z0-9_.-]*\)\][[:space:]]*$/\1/p' "$dir/classes.ini"
        else
                echo critical high normal low besteffort
        fi
}

__tenantctl_nodes() {
        local n
        echo auto
        for n in /sys/devices/system/node/node[0-9]*; do
                [[ -e $n ]] && echo "${n##*/node}"
        done
}

_tenantctl() {
        local cur prev verb="" i
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        local verbs="list status tree top events reassign apply start stop adopt validate plan help"
        local globals="--json --root --topology --backend --help --version"

        for ((i = 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --root|--topology|--backend) ((i++)) ;;
                -*) ;;
                *) verb=${COMP_WORDS[i]}; break ;;
                esac
        done

        case $prev in
        --root|--topology|--policies) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --backend) COMPREPLY=($(compgen -W "auto systemd cgroupfs" -- "$cur")); return ;;
        --class) COMPREPLY=($(compgen -W "$(__tenantctl_classes)" -- "$cur")); return ;;
        --nodes) COMPREPLY=($(compgen -W "$(__tenantctl_nodes)" -- "$cur")); return ;;
        esac

        if [[ -z $verb ]]; then
                COMPREPLY=($(compgen -W "$verbs $globals" -- "$cur"))
                return
        fi
        case $verb in
        status|start|stop) COMPREPLY=($(compgen -W "$(__tenantctl_tenants)" -- "$cur")) ;;
        reassign) COMPREPLY=($(compgen -W "--class --nodes --cpus --request --limit $(__tenantctl_tenants)" -- "$cur")) ;;
        adopt) COMPREPLY=($(compgen -W "--direct --policies $(__tenantctl_tenants)" -- "$cur")) ;;
        apply) COMPREPLY=($(compgen -W "--direct --keep-stale" -- "$cur") $(compgen -d -- "$cur")) ;;
        events) COMPREPLY=($(compgen -W "--follow --after" -- "$cur")) ;;
        top) COMPREPLY=($(compgen -W "--interval --iterations" -- "$cur")) ;;
        validate|plan) COMPREPLY=($(compgen -f -- "$cur")) ;;
        esac
}
complete -F _tenantctl tenantctl
