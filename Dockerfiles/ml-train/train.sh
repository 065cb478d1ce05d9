#!/bin/sh
# Trains on /data/train.csv, evaluates on /data/test.csv, saves the model, prints the metric, exits 0.
set -eu
echo "training: epochs=$EPOCHS learning_rate=$LEARNING_RATE"
awk -v epochs="$EPOCHS" -v lr="$LEARNING_RATE" -f /opt/ml/lib/linreg.awk /data/train.csv > /tmp/train.log
grep '^epoch' /tmp/train.log
set -- $(grep '^model' /tmp/train.log)
w=$2 b=$3 mean=$4 sd=$5
r2=$(awk -v w="$w" -v b="$b" -v mean="$mean" -v sd="$sd" -f /opt/ml/lib/metrics.awk /data/test.csv)
if [ -w "$MODEL_DIR" ]; then
  echo "$w $b $mean $sd" > "$MODEL_DIR/model.txt"
  echo "model saved to $MODEL_DIR/model.txt"
fi
echo "metric test_r2=$r2"
