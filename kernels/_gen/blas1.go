package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// genBLAS1 writes the level-1 BLAS routines: Dot, Axpy and Scal.
func genBLAS1(s isa) {
	genDot(s)
	genAxpy(s)
	genScal(s)
}

func genDot(s isa) {
	text("Dot"+s.name, "func(x, y []float32) float32")
	Doc("Dot" + s.name + " returns the sum of x[i]*y[i] over len(x) elements.")
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	// Four accumulators hide the FMA latency.
	acc := []VecVirtual{s.zero(), s.zero(), s.zero(), s.zero()}
	Label("loop4")
	CMPQ(n, U32(4*s.lanes))
	JL(LabelRef("single"))
	for u := range acc {
		t := s.vec()
		VMOVUPS(Mem{Base: x, Disp: u * s.bytes()}, t)
		VFMADD231PS(Mem{Base: y, Disp: u * s.bytes()}, t, acc[u])
	}
	ADDQ(U32(4*s.bytes()), x)
	ADDQ(U32(4*s.bytes()), y)
	SUBQ(U32(4*s.lanes), n)
	JMP(LabelRef("loop4"))
	Label("single")
	s.vectorLoop("v", n, []Register{x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: x}, t, mk)
		s.load(Mem{Base: y}, u, mk)
		VFMADD231PS(u, t, acc[1])
	})
	VADDPS(acc[1], acc[0], acc[0])
	VADDPS(acc[3], acc[2], acc[2])
	VADDPS(acc[2], acc[0], acc[0])
	storeResult(s.hreduce(acc[0], vaddps))
	ret()
}

func genAxpy(s isa) {
	text("Axpy"+s.name, "func(alpha float32, x, y []float32)")
	Doc("Axpy" + s.name + " computes y[i] += alpha*x[i] over len(x) elements.")
	al := s.broadcast(loadScalar("alpha"))
	x := Load(Param("x").Base(), GP64())
	y := Load(Param("y").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.vectorLoop("", n, []Register{x, y}, func(mk *mask) {
		t, u := s.vec(), s.vec()
		s.load(Mem{Base: y}, t, mk)
		s.load(Mem{Base: x}, u, mk)
		VFMADD231PS(u, al, t)
		s.store(t, Mem{Base: y}, mk)
	})
	ret()
}

func genScal(s isa) {
	text("Scal"+s.name, "func(alpha float32, x []float32)")
	Doc("Scal" + s.name + " computes x[i] *= alpha.")
	al := s.broadcast(loadScalar("alpha"))
	x := Load(Param("x").Base(), GP64())
	n := Load(Param("x").Len(), GP64())
	s.vectorLoop("", n, []Register{x}, func(mk *mask) {
		t := s.vec()
		s.load(Mem{Base: x}, t, mk)
		VMULPS(al, t, t)
		s.store(t, Mem{Base: x}, mk)
	})
	ret()
}
