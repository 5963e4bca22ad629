build-stress/kernel/mm/frame_bitmap.o: kernel/mm/frame_bitmap.cpp \
 kernel/mm/frame_bitmap.h kernel/lib/result.h
kernel/mm/frame_bitmap.h:
kernel/lib/result.h:
