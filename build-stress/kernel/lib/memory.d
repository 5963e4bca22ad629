build-stress/kernel/lib/memory.o: kernel/lib/memory.cpp
