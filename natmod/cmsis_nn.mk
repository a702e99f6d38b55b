# Optional CMSIS-NN build (docs/CMSIS_NN.md), included by natmod/Makefile when CMSIS_NN_DIR names a
# CMSIS-NN checkout: the user's own. Nothing of CMSIS-NN is in this repository or downloaded here.
#   CMSIS_NN_DIR=/path/to/CMSIS-NN scripts/build_natmod.sh x64 armv6m armv7emsp   # -> .cache/natmod-cmsis/
# kernels/cmsis_nn.c (-DUML_CMSIS_NN) calls these s8 kernels for the ops they cover.
CMSIS_NN_SRC := $(addprefix $(CMSIS_NN_DIR)/Source/, \
	ConvolutionFunctions/arm_convolve_wrapper_s8.c \
	ConvolutionFunctions/arm_convolve_s8.c \
	ConvolutionFunctions/arm_convolve_1x1_s8.c \
	ConvolutionFunctions/arm_convolve_1x1_s8_fast.c \
	ConvolutionFunctions/arm_convolve_1_x_n_s8.c \
	ConvolutionFunctions/arm_convolve_get_buffer_sizes_s8.c \
	ConvolutionFunctions/arm_depthwise_conv_wrapper_s8.c \
	ConvolutionFunctions/arm_depthwise_conv_3x3_s8.c \
	ConvolutionFunctions/arm_depthwise_conv_s8.c \
	ConvolutionFunctions/arm_depthwise_conv_s8_opt.c \
	ConvolutionFunctions/arm_depthwise_conv_get_buffer_sizes_s8.c \
	ConvolutionFunctions/arm_nn_mat_mult_kernel_s8_s16.c \
	ConvolutionFunctions/arm_nn_mat_mult_kernel_row_offset_s8_s16.c \
	FullyConnectedFunctions/arm_fully_connected_s8.c \
	FullyConnectedFunctions/arm_fully_connected_per_channel_s8.c \
	FullyConnectedFunctions/arm_fully_connected_get_buffer_sizes_s8.c \
	NNSupportFunctions/arm_nn_mat_mult_nt_t_s8.c \
	NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c \
	NNSupportFunctions/arm_nn_vec_mat_mult_t_per_ch_s8.c \
	NNSupportFunctions/arm_q7_to_q15_with_offset.c \
	NNSupportFunctions/arm_s8_to_s16_unordered_with_offset.c \
	PoolingFunctions/arm_avgpool_s8.c \
	PoolingFunctions/arm_avgpool_get_buffer_sizes_s8.c \
	PoolingFunctions/arm_max_pool_s8.c \
	SoftmaxFunctions/arm_softmax_s8.c \
	SoftmaxFunctions/arm_nn_softmax_common_s8.c \
	BasicMathFunctions/arm_elementwise_add_s8.c \
	BasicMathFunctions/arm_elementwise_mul_s8.c \
	PadFunctions/arm_pad_s8.c \
	ConcatenationFunctions/arm_concatenation_s8_w.c \
	ConcatenationFunctions/arm_concatenation_s8_x.c \
	ConcatenationFunctions/arm_concatenation_s8_y.c \
	ConcatenationFunctions/arm_concatenation_s8_z.c \
	ReshapeFunctions/arm_reshape_s8.c)

ifneq ($(wildcard $(CMSIS_NN_DIR)/Include/arm_nnfunctions.h),$(CMSIS_NN_DIR)/Include/arm_nnfunctions.h)
$(error CMSIS_NN_DIR=$(CMSIS_NN_DIR) is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h))
endif

SRC += $(CMSIS_NN_SRC)
CFLAGS_EXTRA += -DUML_CMSIS_NN -I$(CMSIS_NN_DIR)/Include

# CMSIS-NN's own sources: its warnings are its own (ours stay -Werror), and -fwrapv makes its
# int32 sums and bias additions wrap around as our kernels' do instead of being undefined.
$(addprefix $(BUILD)/,$(CMSIS_NN_SRC:.c=.o)): CFLAGS += -Wno-error -fwrapv
