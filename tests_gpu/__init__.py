"""The GPU-pin lane's tests (`make test-gpu-stack`): rmlite under requirements/gpu.txt (unsloth, trl 1.15,
transformers 5.17) on a CPU. Kept out of the main run (`testpaths = ["tests"]`) because the pins differ."""
