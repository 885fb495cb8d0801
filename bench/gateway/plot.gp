# Added latency (sluice over the upstream called directly) against offered
# load, unary requests: p50 and p99, one process and split. Log scale: past
# saturation the queue adds seconds.
# Run by bench/gateway/run.sh: gnuplot -e "rows='plot.tsv'; out='x.png'" plot.gp
set terminal pngcairo size 900,540 noenhanced font ",10"
set output out
set datafile separator "\t"
set key autotitle columnhead top left
set title "Latency sluice adds to a chat completion (open loop, Poisson arrivals, 2 cores)"
set xlabel "offered load (requests/s)"
set ylabel "added latency (ms, log scale)"
set logscale y
set grid
plot rows using 1:2 with linespoints lw 2 title "1 process, p50", \
     rows using 1:3 with linespoints lw 2 title "1 process, p99", \
     rows using 1:4 with linespoints lw 2 dt 2 title "split, p50", \
     rows using 1:5 with linespoints lw 2 dt 2 title "split, p99"
