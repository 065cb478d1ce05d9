# Linear regression y = w*x + b by batch gradient descent on x scaled to mean 0 and range 1
# (busybox awk has no math library, so no sqrt: the range stands in for the standard deviation).
# Input: CSV lines "x,y" (a header line is skipped). Variables: epochs, lr.
# Prints the loss every 100 epochs, then "w b mean sd" on the last line (the model).
BEGIN { FS = "," }
NR == 1 && $1 !~ /^[0-9.-]+$/ { next }
{ x[n] = $1; y[n] = $2; n++ }
END {
    if (n == 0) { print "no data" > "/dev/stderr"; exit 1 }
    for (i = 0; i < n; i++) mean += x[i]
    mean /= n
    lo = x[0]; hi = x[0]
    for (i = 1; i < n; i++) { if (x[i] < lo) lo = x[i]; if (x[i] > hi) hi = x[i] }
    sd = hi - lo; if (sd == 0) sd = 1
    w = 0; b = 0
    for (e = 1; e <= epochs; e++) {
        gw = 0; gb = 0; loss = 0
        for (i = 0; i < n; i++) {
            z = (x[i] - mean) / sd
            err = w * z + b - y[i]
            gw += err * z; gb += err; loss += err * err
        }
        w -= lr * 2 * gw / n; b -= lr * 2 * gb / n
        if (e % 100 == 0) printf "epoch %d loss %.4f\n", e, loss / n
    }
    printf "model %.6f %.6f %.6f %.6f\n", w, b, mean, sd
}
