# R² of a model "w b mean sd" (passed as variables) on CSV lines "x,y".
BEGIN { FS = "," }
NR == 1 && $1 !~ /^[0-9.-]+$/ { next }
{ p = w * ($1 - mean) / sd + b; ss_res += ($2 - p) * ($2 - p); ys[n++] = $2; sum += $2 }
END {
    avg = sum / n
    for (i = 0; i < n; i++) ss_tot += (ys[i] - avg) * (ys[i] - avg)
    printf "%.4f\n", 1 - ss_res / ss_tot
}
